import { ReactNode, useState } from 'react';
import { useApi } from '@backstage/core-plugin-api';
import {
  Alert,
  Badge,
  Card,
  CardBody,
  CardFooter,
  CardHeader,
  Flex,
  Text,
} from '@backstage/ui';
import {
  AutomationObjectView,
  ObjectAction,
} from '@imageops/backstage-plugin-image-automation-common';
import { imageAutomationApiRef } from '../api/ImageAutomationApi';
import { ActionButton } from './ActionButton';
import { errorMessage } from './errorMessage';
import { formatImageRef, formatTime } from './format';
import { objectHealth, Readiness } from './objectHealth';
import { ScanHistory } from './ScanHistory';

/** Props of {@link AutomationObjectCard}. @internal */
export interface AutomationObjectCardProps {
  object: AutomationObjectView;
  /** Reloads the object list; awaited after an action so the card shows the new state. */
  onChanged: () => Promise<void>;
  pollIntervalMs: number;
}

const readinessColor: Record<
  Readiness,
  'success' | 'danger' | 'warning' | 'secondary'
> = {
  Ready: 'success',
  'Not ready': 'danger',
  Stalled: 'danger',
  Reconciling: 'warning',
  Unknown: 'secondary',
};

/**
 * One automation object: its readiness in words, the reason and message behind it, the fields
 * that matter for its kind, and the Suspend / Resume / Reconcile controls.
 * @internal
 */
export function AutomationObjectCard(props: AutomationObjectCardProps) {
  const { object, onChanged, pollIntervalMs } = props;
  const api = useApi(imageAutomationApiRef);
  const [pendingAction, setPendingAction] = useState<ObjectAction>();
  const [actionError, setActionError] = useState<string>();
  const [refreshToken, setRefreshToken] = useState(0);
  const health = objectHealth(object.status);
  const title = `${object.kind} ${object.namespace}/${object.name}`;

  const run = async (action: ObjectAction) => {
    setPendingAction(action);
    setActionError(undefined);
    try {
      await api.runAction(object, action);
      await onChanged();
      setRefreshToken(token => token + 1);
    } catch (e) {
      setActionError(
        `${capitalize(action)} failed: ${errorMessage(
          e instanceof Error ? e : new Error(String(e)),
        )}`,
      );
    } finally {
      setPendingAction(undefined);
    }
  };

  const actionButton = (action: ObjectAction) => (
    <ActionButton
      key={action}
      label={capitalize(action)}
      accessibleName={`${capitalize(action)} ${title}`}
      permission={object.actions[action]}
      isPending={pendingAction === action}
      isBusy={pendingAction !== undefined && pendingAction !== action}
      onPress={() => run(action)}
    />
  );

  return (
    <Card aria-label={title} role="region">
      <CardHeader>
        <Flex justify="between" align="center">
          <Flex direction="column" gap="1">
            <Text as="h3" variant="title-small">
              {title}
            </Text>
            <Flex gap="2" align="center">
              <Text weight="bold" color={readinessColor[health.readiness]}>
                {health.readiness}
              </Text>
              {health.reconciling && health.readiness !== 'Reconciling' && (
                <Badge>Reconciling</Badge>
              )}
              {object.suspended && <Badge>Suspended</Badge>}
            </Flex>
          </Flex>
          <Flex gap="2">
            {actionButton(object.suspended ? 'resume' : 'suspend')}
            {actionButton('reconcile')}
          </Flex>
        </Flex>
      </CardHeader>
      <CardBody>
        <Flex direction="column" gap="3">
          {(health.reason || health.message) && (
            <Text>
              {health.reason && <Text weight="bold">{health.reason}</Text>}
              {health.reason && health.message && ': '}
              {health.message}
            </Text>
          )}
          {object.suspended && (
            <Text>
              Suspended by {object.suspendedBy ?? 'an unknown user'}
              {object.suspendedAt && ` at ${formatTime(object.suspendedAt)}`}
            </Text>
          )}
          {actionError && (
            <Alert status="danger" role="alert" title={actionError} />
          )}
          <Details fields={detailsOf(object)} />
          {object.kind === 'ImageRepository' && (
            <ScanHistory
              object={object}
              refreshToken={refreshToken}
              pollIntervalMs={pollIntervalMs}
            />
          )}
        </Flex>
      </CardBody>
      <CardFooter>
        <Text variant="body-small" color="secondary">
          Declared in {object.source.location}
        </Text>
      </CardFooter>
    </Card>
  );
}

function Details(props: { fields: Array<[string, ReactNode]> }) {
  return (
    <dl
      style={{
        display: 'grid',
        gridTemplateColumns: 'max-content 1fr',
        columnGap: 'var(--bui-space-4)',
        rowGap: 'var(--bui-space-1)',
        margin: 0,
      }}
    >
      {props.fields.map(([name, value]) => (
        <div key={name} style={{ display: 'contents' }}>
          <dt>
            <Text color="secondary">{name}</Text>
          </dt>
          <dd style={{ margin: 0 }}>
            <Text>{value}</Text>
          </dd>
        </div>
      ))}
    </dl>
  );
}

/** The fields worth reading at a glance, per kind. */
function detailsOf(object: AutomationObjectView): Array<[string, ReactNode]> {
  const { status } = object;
  const fields: Array<[string, ReactNode]> = [];
  if (object.kind === 'ImageRepository') {
    fields.push(['Image', stringField(object.spec.image)]);
    fields.push(['Canonical name', status.canonicalImageName ?? '—']);
    fields.push([
      'Tags',
      status.lastScanResult ? String(status.lastScanResult.tagCount) : '—',
    ]);
    fields.push(['Last scan', formatTime(status.lastScanResult?.scanTime)]);
  }
  if (object.kind === 'ImagePolicy') {
    fields.push(['Selected tag', formatImageRef(status.latestRef)]);
    fields.push(['Previous tag', formatImageRef(status.observedPreviousRef)]);
  }
  if (object.lastRunAt) fields.push(['Last run', formatTime(object.lastRunAt)]);
  if (object.nextRunAt) fields.push(['Next run', formatTime(object.nextRunAt)]);
  if (object.reconcileRequestedAt) {
    fields.push([
      'Reconcile requested',
      `${formatTime(object.reconcileRequestedAt)}${
        object.reconcileRequestedBy ? ` by ${object.reconcileRequestedBy}` : ''
      }`,
    ]);
  }
  return fields;
}

function stringField(value: unknown): string {
  return typeof value === 'string' && value !== '' ? value : '—';
}

function capitalize(action: ObjectAction): string {
  return action.charAt(0).toUpperCase() + action.slice(1);
}
