import { useId } from 'react';
import { Flex, Link, Text } from '@backstage/ui';
import {
  Cell,
  CellText,
  Column,
  Row,
  TableBody,
  TableHeader,
  TableRoot,
} from '../table/Table';
import { AutomationObjectView } from '@imageops/backstage-plugin-image-automation-common';
import { formatTime } from '../format';
import { reconcilePending } from '../reconcilePending';
import { DetailList } from './DetailList';
import { diagnose, Diagnosis } from './diagnose';
import { objectState, objectTitle } from './objectState';

/**
 * The object at a glance: what is wrong and how to fix it (for a Stalled or failing object), the
 * generation the status describes, where it was declared, its schedule, and every condition.
 * @internal
 */
export function OverviewPanel(props: { object: AutomationObjectView }) {
  const { object } = props;
  const state = objectState(object);
  const diagnosis = diagnose(object, state);
  const title = objectTitle(object);
  const { observedGeneration } = object.status;

  let generation = `${object.generation}`;
  if (observedGeneration === undefined) {
    generation = `${object.generation} (not reconciled yet)`;
  } else if (observedGeneration < object.generation) {
    generation = `observed ${observedGeneration} of ${object.generation}: the latest manifest has not been reconciled yet`;
  } else {
    generation = `observed ${observedGeneration} of ${object.generation} (up to date)`;
  }

  const items: Array<[string, string]> = [
    ['Generation', generation],
    [
      'Declared in',
      `${object.source.location} (${
        object.source.type === 'catalog'
          ? "the entity's manifests"
          : 'app-config'
      })`,
    ],
    ['Last run', formatTime(object.lastRunAt)],
    [
      'Next run',
      object.suspended ? 'none while suspended' : formatTime(object.nextRunAt),
    ],
  ];
  if (object.reconcileRequestedAt) {
    items.push([
      'Reconcile requested',
      `${formatTime(object.reconcileRequestedAt)}${
        object.reconcileRequestedBy ? ` by ${object.reconcileRequestedBy}` : ''
      }${requestOutcome(object)}`,
    ]);
  }
  if (object.suspended) {
    items.push([
      'Suspended',
      `by ${object.suspendedBy ?? 'unknown'}${
        object.suspendedAt ? ` at ${formatTime(object.suspendedAt)}` : ''
      }`,
    ]);
  }

  return (
    <Flex direction="column" gap="4">
      {diagnosis && <DiagnosisView diagnosis={diagnosis} title={title} />}
      <DetailList aria-label={`Overview of ${title}`} items={items} />
      <TableRoot aria-label={`Conditions of ${title}`}>
        <TableHeader>
          <Column>Type</Column>
          <Column>Status</Column>
          <Column>Reason</Column>
          <Column>Message</Column>
          <Column>Last transition</Column>
        </TableHeader>
        <TableBody
          items={(object.status.conditions ?? []).map(c => ({
            ...c,
            id: c.type,
          }))}
          renderEmptyState={() =>
            'No conditions yet: the object has not been reconciled.'
          }
        >
          {condition => (
            <Row id={condition.id}>
              <CellText title={condition.type} />
              <CellText title={condition.status} />
              <CellText title={condition.reason || '—'} />
              <Cell>
                <Text style={{ overflowWrap: 'anywhere' }}>
                  {condition.message || '—'}
                </Text>
              </Cell>
              <CellText title={formatTime(condition.lastTransitionTime)} />
            </Row>
          )}
        </TableBody>
      </TableRoot>
    </Flex>
  );
}

/** Whether the backend has handled the last reconcile request, and when. */
function requestOutcome(object: AutomationObjectView): string {
  if (reconcilePending(object, new Date())) return ', not handled yet';
  const handled = object.status.lastHandledReconcileAt;
  return handled ? `, handled ${formatTime(handled)}` : '';
}

/** "Detected → Cause → Fix → Docs", in that order. */
function DiagnosisView(props: { diagnosis: Diagnosis; title: string }) {
  const { diagnosis, title } = props;
  const headingId = useId();
  return (
    <section
      aria-labelledby={headingId}
      style={{
        borderInlineStart: '4px solid var(--bui-negative-border)',
        paddingInlineStart: 'var(--bui-space-3)',
      }}
    >
      <Flex direction="column" gap="2">
        <Text as="h3" variant="title-x-small" id={headingId}>
          What is wrong with {title}
        </Text>
        <DetailList
          items={[
            [
              'Detected',
              `${diagnosis.detected}${
                diagnosis.since ? ` since ${formatTime(diagnosis.since)}` : ''
              }`,
            ],
            [
              'Cause',
              <ul
                key="causes"
                style={{ margin: 0, paddingInlineStart: '1.2em' }}
              >
                {diagnosis.causes.map((cause, i) => (
                  <li key={i}>
                    <Text>
                      {cause.field && (
                        <code>
                          <Text weight="bold">{cause.field}</Text>
                        </code>
                      )}
                      {cause.field && ': '}
                      {cause.message}
                    </Text>
                  </li>
                ))}
              </ul>,
            ],
            [
              'Fix',
              <ul
                key="fixes"
                style={{ margin: 0, paddingInlineStart: '1.2em' }}
              >
                {[
                  ...new Set(diagnosis.causes.map(c => c.fix)),
                  diagnosis.fix,
                ].map(fix => (
                  <li key={fix}>
                    <Text>{fix}</Text>
                  </li>
                ))}
              </ul>,
            ],
            ...(diagnosis.docs
              ? ([
                  [
                    'Docs',
                    <Link
                      key="docs"
                      href={diagnosis.docs.url}
                      target="_blank"
                      rel="noopener noreferrer"
                    >
                      {diagnosis.docs.title}
                    </Link>,
                  ],
                ] as Array<[string, JSX.Element]>)
              : []),
          ]}
        />
      </Flex>
    </section>
  );
}
