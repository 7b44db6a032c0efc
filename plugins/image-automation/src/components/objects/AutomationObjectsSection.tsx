import { useCallback, useId, useRef, useState } from 'react';
import { useApi } from '@backstage/core-plugin-api';
import {
  Alert,
  Button,
  Flex,
  PageSizeOption,
  TablePagination,
  Text,
  useTable,
} from '@backstage/ui';
import {
  Cell,
  Column,
  Row,
  TableBody,
  TableHeader,
  TableRoot,
} from '../table/Table';
import {
  AutomationObjectView,
  ObjectAction,
} from '@imageops/backstage-plugin-image-automation-common';
import { imageAutomationApiRef, ObjectRef } from '../../api/ImageAutomationApi';
import { PolledValue } from '../../hooks/usePolledValue';
import { errorMessage } from '../errorMessage';
import { formatTime } from '../format';
import { reconcilePending } from '../reconcilePending';
import { SectionError } from '../SectionError';
import { specString } from './DetailList';
import { actionLabel, ObjectActions } from './ObjectActions';
import { ObjectDrawer } from './ObjectDrawer';
import { NoAutomationObjects } from './NoAutomationObjects';
import { objectState, objectTitle } from './objectState';
import { StateText } from './StateText';
import { useObjectDrawerParams } from './useObjectDrawerParams';

/** Props of {@link AutomationObjectsSection}. @internal */
export interface AutomationObjectsSectionProps {
  entityRef: ObjectRef;
  /** The entity's objects, loaded (and polled faster while a reconcile is pending) by the tab. */
  objects: PolledValue<AutomationObjectView[]>;
}

/** The page sizes offered; the first is the default, so a long list costs little to show. */
const PAGE_SIZES: PageSizeOption[] = [25, 50, 100].map(value => ({
  label: `${value} per page`,
  value,
}));

/** Objects per page at first. @internal */
export const OBJECTS_PAGE_SIZE = PAGE_SIZES[0].value;

interface ActionFailure {
  key: string;
  text: string;
}

/**
 * The "Automation objects" section of the entity tab: one row per object with its state in words
 * and colour, its message, schedule and who suspended it, and the Reconcile / Suspend / Resume
 * controls; each row opens a drawer with the object's conditions, history, events, kind-specific
 * panel and YAML. The open drawer and its tab live in the URL; a linked object's drawer opens
 * whichever page of the table the object is on. The table shows {@link OBJECTS_PAGE_SIZE} objects
 * a page.
 * @internal
 */
export function AutomationObjectsSection(props: AutomationObjectsSectionProps) {
  const { entityRef, objects } = props;
  const api = useApi(imageAutomationApiRef);
  const headingId = useId();
  const drawer = useObjectDrawerParams();
  const [running, setRunning] = useState<Record<string, ObjectAction>>({});
  const [failures, setFailures] = useState<ActionFailure[]>([]);
  const { refresh } = objects;
  // `drawer.open` changes with the URL, i.e. when a drawer opens; the rows keep one callback, so
  // opening a drawer does not re-render them.
  const drawerOpenRef = useRef(drawer.open);
  drawerOpenRef.current = drawer.open;
  const openDrawer = useCallback(
    (objectId: string) => drawerOpenRef.current(objectId),
    [],
  );

  const run = useCallback(
    async (object: AutomationObjectView, action: ObjectAction) => {
      const key = `${action} ${object.id}`;
      setRunning(r => ({ ...r, [object.id]: action }));
      setFailures(f => f.filter(failure => failure.key !== key));
      try {
        await api.runAction(object, action);
        await refresh();
        return true;
      } catch (e) {
        const error = e instanceof Error ? e : new Error(String(e));
        setFailures(f => [
          ...f,
          {
            key,
            text: `${actionLabel(action)} ${objectTitle(
              object,
            )} failed: ${errorMessage(error)}`,
          },
        ]);
        return false;
      } finally {
        setRunning(({ [object.id]: _, ...rest }) => rest);
      }
    },
    [api, refresh],
  );

  const items = objects.value ?? [];
  const { tableProps } = useTable({
    mode: 'complete',
    data: objects.value,
    paginationOptions: { pageSizeOptions: PAGE_SIZES },
  });
  const { pagination } = tableProps;
  const open = drawer.objectId
    ? items.find(o => o.id === drawer.objectId)
    : undefined;
  const now = new Date();

  return (
    <section aria-labelledby={headingId}>
      <Flex direction="column" gap="4">
        <Text as="h2" variant="title-small" id={headingId}>
          Automation objects
        </Text>
        <SectionError what="the automation objects" data={objects} />
        {failures.map(failure => (
          <Alert
            key={failure.key}
            status="danger"
            role="alert"
            title={failure.text}
            customActions={
              <Button
                size="small"
                variant="secondary"
                aria-label={`Dismiss: ${failure.text}`}
                onPress={() =>
                  setFailures(f => f.filter(x => x.key !== failure.key))
                }
              >
                Dismiss
              </Button>
            }
          />
        ))}
        {objects.loading && (
          <Text color="secondary">Loading automation objects…</Text>
        )}
        {objects.value?.length === 0 && <NoAutomationObjects />}
        {drawer.objectId && objects.value && !open && (
          <Alert
            status="warning"
            title={`${drawer.objectId} is not one of this entity's automation objects (any more).`}
            customActions={
              <Button size="small" variant="secondary" onPress={drawer.close}>
                Close
              </Button>
            }
          />
        )}
        {items.length > 0 && (
          <TableRoot
            aria-label={`Automation objects of ${entityRef.kind.toLocaleLowerCase(
              'en-US',
            )}:${entityRef.namespace}/${entityRef.name}`}
          >
            <TableHeader>
              <Column>Kind/name</Column>
              <Column>Status</Column>
              <Column>Message</Column>
              <Column>Last reconciled</Column>
              <Column>Interval</Column>
              <Column>Suspended by</Column>
              <Column>Actions</Column>
            </TableHeader>
            <TableBody
              items={tableProps.data ?? []}
              dependencies={[running, run, openDrawer]}
            >
              {object => {
                const state = objectState(object);
                const pending =
                  running[object.id] === 'reconcile' ||
                  reconcilePending(object, now);
                return (
                  <Row id={object.id}>
                    <Cell>
                      <Button
                        variant="tertiary"
                        size="small"
                        aria-haspopup="dialog"
                        onPress={() => openDrawer(object.id)}
                        style={{ textAlign: 'start', overflowWrap: 'anywhere' }}
                      >
                        {objectTitle(object)}
                      </Button>
                    </Cell>
                    <Cell>
                      <Flex direction="column" gap="1">
                        <StateText state={state} />
                        {pending && (
                          <Text variant="body-small" color="secondary">
                            Reconcile requested, waiting for the engine
                          </Text>
                        )}
                      </Flex>
                    </Cell>
                    <Cell>
                      <Text style={{ overflowWrap: 'anywhere' }}>
                        {state.condition?.reason && (
                          <Text weight="bold">{state.condition.reason}</Text>
                        )}
                        {state.condition?.reason &&
                          state.condition.message &&
                          ': '}
                        {state.condition?.message}
                        {!state.condition && '—'}
                      </Text>
                    </Cell>
                    <Cell>
                      <Text>{formatTime(object.lastRunAt)}</Text>
                    </Cell>
                    <Cell>
                      <Flex direction="column" gap="1">
                        <Text>{specString(object.spec.interval)}</Text>
                        {object.nextRunAt && !object.suspended && (
                          <Text variant="body-small" color="secondary">
                            next {formatTime(object.nextRunAt)}
                          </Text>
                        )}
                      </Flex>
                    </Cell>
                    <Cell>
                      <SuspendedBy object={object} />
                    </Cell>
                    <Cell>
                      <ObjectActions
                        object={object}
                        running={running[object.id]}
                        onRun={action => run(object, action)}
                      />
                    </Cell>
                  </Row>
                );
              }}
            </TableBody>
          </TableRoot>
        )}
        {pagination.type === 'page' && items.length > OBJECTS_PAGE_SIZE && (
          <TablePagination
            {...pagination}
            getLabel={({ offset = 0, pageSize }) =>
              `Objects ${offset + 1}–${Math.min(
                offset + pageSize,
                items.length,
              )} of ${items.length}`
            }
          />
        )}
      </Flex>
      {open && (
        <ObjectDrawer
          object={open}
          tab={drawer.tab}
          onTabChange={drawer.setTab}
          onClose={drawer.close}
        />
      )}
    </section>
  );
}

function SuspendedBy(props: { object: AutomationObjectView }) {
  const { object } = props;
  if (!object.suspended) return <Text color="secondary">—</Text>;
  const bySpec = (object.spec as { suspend?: unknown }).suspend === true;
  return (
    <Flex direction="column" gap="1">
      <Text style={{ overflowWrap: 'anywhere' }}>
        {object.suspendedBy ??
          (bySpec ? 'spec.suspend in the manifest' : 'unknown')}
      </Text>
      {object.suspendedAt && (
        <Text variant="body-small" color="secondary">
          {formatTime(object.suspendedAt)}
        </Text>
      )}
    </Flex>
  );
}
