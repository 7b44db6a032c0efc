import { cleanup, screen, waitFor, within } from '@testing-library/react';
import userEvent, {
  PointerEventsCheckLevel,
} from '@testing-library/user-event';
import { Location, useLocation } from 'react-router-dom';
import { renderInTestApp } from '@backstage/frontend-test-utils';
import { NotAllowedError } from '@backstage/errors';
import {
  AutomationObjectView,
  ObjectEvent,
} from '@imageops/backstage-plugin-image-automation-common';
import { imageAutomationApiRef } from '../../api/ImageAutomationApi';
import { EntityDataHarness } from '../../testing/EntityDataHarness';
import { FakeImageAutomationApi } from '../../testing/FakeImageAutomationApi';
import { condition, objectView } from '../../testing/fixtures';
import { AutomationObjectsSection } from './AutomationObjectsSection';
import { ObjectActions } from './ObjectActions';

// The real controls, counted: a row that re-renders renders its actions again.
jest.mock('./ObjectActions', () => {
  const actual = jest.requireActual('./ObjectActions');
  return { ...actual, ObjectActions: jest.fn(actual.ObjectActions) };
});
const actionsRenders = () => (ObjectActions as jest.Mock).mock.calls.length;

const entityRef = { kind: 'Component', namespace: 'default', name: 'podinfo' };
const TABLE = 'Automation objects of component:default/podinfo';
const notOwner = {
  allowed: false,
  reason:
    'You lack the image-automation.object.update permission for component:default/podinfo',
};

function repository(overrides: Partial<AutomationObjectView> = {}) {
  return objectView('ImageRepository', 'podinfo', {
    spec: {
      image: 'ghcr.io/stefanprodan/podinfo',
      interval: '5m',
      secretRef: { name: 'ghcr-credentials' },
      exclusionList: ['^.*\\.sig$', '^sha-'],
    },
    lastRunAt: '2026-11-22T01:00:00Z',
    nextRunAt: '2026-11-22T01:05:00Z',
    status: {
      canonicalImageName: 'ghcr.io/stefanprodan/podinfo',
      lastScanResult: {
        tagCount: 42,
        scanTime: '2026-11-22T01:00:00Z',
        revision: 'sha256:1111',
      },
      conditions: [
        condition(
          'Ready',
          'True',
          'Succeeded',
          'successful scan: found 42 tags',
        ),
      ],
    },
    ...overrides,
  });
}

/** One object per state: Ready, Stalled, Failing, Reconciling, Suspended. */
function fakeBackend(now: () => Date = () => new Date('2026-11-22T02:00:00Z')) {
  const api = new FakeImageAutomationApi({ user: 'user:default/guest', now });
  api.addObject(repository(), [
    {
      id: 1,
      objectId: 'ImageRepository/default/podinfo',
      startedAt: '2026-11-22T01:00:00Z',
      durationMs: 850,
      outcome: 'success',
      tagCount: 42,
      revision: 'sha256:1111',
      tagsAdded: ['6.5.1'],
      tagsRemoved: [],
      requests: 2,
    },
  ]);
  api.addObject(
    objectView('ImageRepository', 'redis', {
      spec: { image: 'docker.io/library/redis', intervall: '1h' },
      status: {
        conditions: [
          condition(
            'Stalled',
            'True',
            'InvalidManifest',
            'ImageRepository "redis" is invalid: spec.intervall: unknown field, spec.interval: Required value',
          ),
          condition('Ready', 'False', 'InvalidManifest', 'invalid manifest'),
        ],
      },
    }),
  );
  api.addObject(
    objectView('ImageUpdateAutomation', 'podinfo', {
      spec: {
        interval: '30m',
        sourceRef: { kind: 'GitRepository', name: 'podinfo' },
      },
      status: {
        lastPushCommit: 'a1b2c3d4',
        lastPushTime: '2026-11-21T23:00:00Z',
        observedPolicies: {
          podinfo: { name: 'ghcr.io/stefanprodan/podinfo', tag: '6.5.1' },
        },
        markers: [
          {
            file: 'deploy/podinfo.yaml',
            line: 12,
            setter: 'default:podinfo',
            value: 'ghcr.io/stefanprodan/podinfo:6.5.1',
          },
          {
            file: 'deploy/canary.yaml',
            line: 7,
            setter: 'default:podinfo:tag',
            value: '6.5.0',
          },
          {
            file: 'deploy/other.yaml',
            line: 3,
            setter: 'apps:web',
            value: 'web:1.0.0',
          },
        ],
        conditions: [
          condition(
            'Ready',
            'False',
            'GitOperationFailed',
            'failed to push: permission denied',
          ),
          condition('Reconciling', 'True', 'ProgressingWithRetry', 'retrying'),
        ],
      },
    }),
  );
  api.addObject(
    objectView('GitRepository', 'podinfo', {
      apiVersion: 'source.toolkit.fluxcd.io/v1',
      spec: {
        url: 'https://github.com/acme/podinfo',
        interval: '1m',
        ref: { branch: 'main' },
      },
      status: {
        conditions: [
          condition('Reconciling', 'True', 'Progressing', 'cloning'),
        ],
      },
    }),
  );
  api.addObject(
    objectView('ResourceSetInputProvider', 'podinfo-tags', {
      apiVersion: 'fluxcd.controlplane.io/v1',
      suspended: true,
      suspendedBy: 'user:default/alice',
      suspendedAt: '2026-11-21T09:30:00Z',
      spec: {
        type: 'OCIArtifactTag',
        url: 'oci://ghcr.io/acme/podinfo',
        filter: { limit: 5 },
      },
      status: {
        exportedInputs: [
          { id: '48955639', tag: '6.5.1', digest: 'sha256:abcd' },
          { id: '48955640', tag: '6.5.0', digest: 'sha256:ef01' },
        ],
        conditions: [
          condition(
            'Ready',
            'True',
            'ReconciliationSucceeded',
            'exported 2 inputs',
          ),
        ],
      },
      actions: {
        suspend: { allowed: false, reason: 'Already suspended' },
        resume: notOwner,
        reconcile: notOwner,
      },
    }),
  );
  return api;
}

let location: Location;
function LocationProbe() {
  location = useLocation();
  return null;
}

async function renderSection(
  api: FakeImageAutomationApi,
  options: { url?: string; pollIntervalMs?: number } = {},
) {
  renderInTestApp(
    <>
      <EntityDataHarness
        entityRef={entityRef}
        pollIntervalMs={options.pollIntervalMs}
      >
        {data => (
          <AutomationObjectsSection
            entityRef={entityRef}
            objects={data.objects}
          />
        )}
      </EntityDataHarness>
      <LocationProbe />
    </>,
    {
      apis: [[imageAutomationApiRef, api]],
      initialRouteEntries: [options.url ?? '/image-updates?tags=eligible'],
    },
  );
  // Hidden from role queries while a drawer is open (it is modal), hence `hidden`.
  return screen.findByRole('table', { name: TABLE, hidden: true });
}

/** The table row of an object, found from its Kind/name button. */
function rowOf(title: string): HTMLElement {
  const row = screen
    .getByRole('button', { name: title })
    .closest<HTMLElement>('tr');
  if (!row) throw new Error(`no row for ${title}`);
  return row;
}

function query(): Record<string, string> {
  return Object.fromEntries(new URLSearchParams(location.search));
}

describe('AutomationObjectsSection', () => {
  it('lists one row per object with its state in words, message, schedule and who suspended it', async () => {
    const table = await renderSection(fakeBackend());
    expect(
      screen.getByRole('heading', { level: 2, name: 'Automation objects' }),
    ).toBeInTheDocument();
    expect(
      within(table)
        .getAllByRole('columnheader')
        .map(h => h.textContent),
    ).toEqual([
      'Kind/name',
      'Status',
      'Message',
      'Last reconciled',
      'Interval',
      'Suspended by',
      'Actions',
    ]);
    expect(within(table).getAllByRole('row')).toHaveLength(6);

    const ready = rowOf('ImageRepository default/podinfo');
    expect(within(ready).getByText('Ready')).toBeInTheDocument();
    expect(within(ready).getByText('Succeeded')).toBeInTheDocument();
    expect(
      within(ready).getByText(/successful scan: found 42 tags/),
    ).toBeInTheDocument();
    expect(
      within(ready).getByText('2026-11-22 01:00:00 UTC'),
    ).toBeInTheDocument();
    expect(within(ready).getByText('5m')).toBeInTheDocument();
    expect(
      within(ready).getByText('next 2026-11-22 01:05:00 UTC'),
    ).toBeInTheDocument();

    const stalled = rowOf('ImageRepository default/redis');
    expect(within(stalled).getByText('Stalled')).toBeInTheDocument();
    expect(
      within(stalled).getByText(/spec\.intervall: unknown field/),
    ).toBeInTheDocument();

    const failing = rowOf('ImageUpdateAutomation default/podinfo');
    expect(within(failing).getByText('Failing')).toBeInTheDocument();
    expect(within(failing).getByText(/\(reconciling\)/)).toBeInTheDocument();
    expect(
      within(failing).getByText(/failed to push: permission denied/),
    ).toBeInTheDocument();

    const reconciling = rowOf('GitRepository default/podinfo');
    expect(within(reconciling).getByText('Reconciling')).toBeInTheDocument();

    const suspended = rowOf('ResourceSetInputProvider default/podinfo-tags');
    expect(within(suspended).getByText('Suspended')).toBeInTheDocument();
    expect(
      within(suspended).getByText('user:default/alice'),
    ).toBeInTheDocument();
    expect(
      within(suspended).getByText('2026-11-21 09:30:00 UTC'),
    ).toBeInTheDocument();
    expect(
      within(suspended).getByRole('button', {
        name: 'Resume ResourceSetInputProvider default/podinfo-tags',
      }),
    ).toBeInTheDocument();
    // Not suspended: nobody to name.
    expect(within(ready).getByText('—')).toBeInTheDocument();
  });

  it('disables an action the user may not use, with the reason as description and tooltip', async () => {
    await renderSection(fakeBackend());
    const reconcile = screen.getByRole('button', {
      name: 'Reconcile ResourceSetInputProvider default/podinfo-tags',
    });
    expect(reconcile).toBeDisabled();
    expect(reconcile).toHaveAccessibleDescription(notOwner.reason);
    expect(
      screen.getByRole('button', {
        name: 'Reconcile ImageRepository default/podinfo',
      }),
    ).toBeEnabled();

    const pointer = userEvent.setup({
      pointerEventsCheck: PointerEventsCheckLevel.Never,
    });
    await pointer.hover(reconcile);
    expect(await screen.findByRole('tooltip')).toHaveTextContent(
      notOwner.reason,
    );
  });

  it('suspends through the API, pending until the backend answers, then shows the new state and ✓', async () => {
    const api = fakeBackend();
    await renderSection(api);
    let answer: () => void = () => {};
    const runAction = api.runAction.bind(api);
    jest.spyOn(api, 'runAction').mockImplementation(async (ref, action) => {
      await new Promise<void>(resolve => {
        answer = resolve;
      });
      return runAction(ref, action);
    });

    await userEvent.click(
      screen.getByRole('button', {
        name: 'Suspend ImageRepository default/podinfo',
      }),
    );
    const row = rowOf('ImageRepository default/podinfo');
    const suspend = within(row).getByRole('button', {
      name: /^Suspend ImageRepository default\/podinfo/,
    });
    expect(suspend).toHaveAttribute('aria-disabled', 'true');
    expect(suspend).toHaveAttribute('data-pending', 'true');
    // The other action waits too, without a reason of its own.
    expect(
      within(row).getByRole('button', {
        name: 'Reconcile ImageRepository default/podinfo',
      }),
    ).toBeDisabled();

    answer();
    expect(
      await within(row).findByRole('button', {
        name: 'Resume ImageRepository default/podinfo',
      }),
    ).toBeEnabled();
    expect(within(row).getByText('Suspended')).toBeInTheDocument();
    expect(within(row).getByText('user:default/guest')).toBeInTheDocument();
    expect(within(row).getByRole('status')).toHaveTextContent('✓ Suspended');
    expect(api.calls).toContainEqual({
      method: 'runAction',
      args: [
        expect.objectContaining({ id: 'ImageRepository/default/podinfo' }),
        'suspend',
      ],
    });
  });

  it('keeps a reconcile pending until the backend has handled the request', async () => {
    const api = fakeBackend(() => new Date());
    await renderSection(api);

    await userEvent.click(
      screen.getByRole('button', {
        name: 'Reconcile ImageRepository default/podinfo',
      }),
    );
    const row = rowOf('ImageRepository default/podinfo');
    expect(
      await within(row).findByText(
        'Reconcile requested, waiting for the engine',
      ),
    ).toBeInTheDocument();
    const reconcile = within(row).getByRole('button', {
      name: /^Reconcile ImageRepository default\/podinfo/,
    });
    expect(reconcile).toHaveAttribute('data-pending', 'true');
    expect(within(row).getByRole('status')).toHaveTextContent('');

    // The engine runs it: the status records the request as handled.
    const [stored] = (await api.getEntityObjects(entityRef)).filter(
      o => o.id === 'ImageRepository/default/podinfo',
    );
    api.addObject({
      ...stored,
      status: {
        ...stored.status,
        lastHandledReconcileAt: stored.reconcileRequestedAt,
      },
    });

    await waitFor(() =>
      expect(
        within(row).queryByText('Reconcile requested, waiting for the engine'),
      ).not.toBeInTheDocument(),
    );
    expect(reconcile).not.toHaveAttribute('data-pending');
    // The acknowledgement is announced once the pending state has cleared (a render later).
    await waitFor(() =>
      expect(within(row).getByRole('status')).toHaveTextContent('✓ Reconciled'),
    );
  });

  it('shows a failed action until it is dismissed', async () => {
    const api = fakeBackend();
    await renderSection(api);
    api.failActionsWith(new NotAllowedError('the permission policy changed'));

    await userEvent.click(
      screen.getByRole('button', {
        name: 'Reconcile ImageRepository default/podinfo',
      }),
    );

    const alert = await screen.findByRole('alert');
    expect(alert).toHaveTextContent(
      'Reconcile ImageRepository default/podinfo failed: the permission policy changed',
    );
    await new Promise(resolve => setTimeout(resolve, 2500));
    expect(screen.getByRole('alert')).toBe(alert);

    await userEvent.click(
      within(alert).getByRole('button', {
        name: /^Dismiss: Reconcile ImageRepository/,
      }),
    );
    expect(screen.queryByRole('alert')).not.toBeInTheDocument();
  });

  it('opens the drawer from the row, keeps other query parameters, and Escape closes it and returns focus', async () => {
    await renderSection(fakeBackend());
    const opener = screen.getByRole('button', {
      name: 'ImageRepository default/podinfo',
    });

    await userEvent.click(opener);

    const dialog = await screen.findByRole('dialog', {
      name: 'ImageRepository default/podinfo',
    });
    expect(query()).toEqual({
      tags: 'eligible',
      object: 'ImageRepository/default/podinfo',
    });
    expect(
      within(dialog).getByRole('tab', { name: 'Overview' }),
    ).toHaveAttribute('aria-selected', 'true');

    await userEvent.keyboard('{Escape}');
    await waitFor(() =>
      expect(screen.queryByRole('dialog')).not.toBeInTheDocument(),
    );
    expect(query()).toEqual({ tags: 'eligible' });
    await waitFor(() =>
      expect(
        screen.getByRole('button', { name: 'ImageRepository default/podinfo' }),
      ).toHaveFocus(),
    );
  });

  it('re-renders no row when a drawer opens and closes', async () => {
    await renderSection(fakeBackend());
    // Each of the five rows has rendered its actions.
    expect(actionsRenders()).toBeGreaterThanOrEqual(5);
    const before = actionsRenders();

    await userEvent.click(
      screen.getByRole('button', { name: 'GitRepository default/podinfo' }),
    );
    await screen.findByRole('dialog', {
      name: 'GitRepository default/podinfo',
    });
    await userEvent.keyboard('{Escape}');
    await waitFor(() =>
      expect(screen.queryByRole('dialog')).not.toBeInTheDocument(),
    );

    expect(actionsRenders()).toBe(before);
  });

  it('opens the drawer and tab named in the URL, and switching tabs updates the URL', async () => {
    await renderSection(fakeBackend(), {
      url: '/image-updates?object=ImageRepository%2Fdefault%2Fpodinfo&objectTab=details&tags=eligible',
    });
    const dialog = await screen.findByRole('dialog', {
      name: 'ImageRepository default/podinfo',
    });
    expect(
      within(dialog).getByRole('tab', { name: 'Repository' }),
    ).toHaveAttribute('aria-selected', 'true');
    const details = within(dialog).getByRole('tabpanel');
    expect(details).toHaveTextContent(
      'Secret ghcr-credentials (spec.secretRef)',
    );
    expect(details).toHaveTextContent('42');
    expect(details).toHaveTextContent('^sha-');

    await userEvent.click(within(dialog).getByRole('tab', { name: 'History' }));
    expect(query()).toEqual({
      object: 'ImageRepository/default/podinfo',
      objectTab: 'history',
      tags: 'eligible',
    });
    const scans = await within(dialog).findByRole('table', {
      name: 'Scans of ImageRepository default/podinfo',
    });
    expect(within(scans).getAllByRole('row')).toHaveLength(2);
    expect(within(scans).getByText('Success')).toBeInTheDocument();

    await userEvent.click(
      within(dialog).getByRole('tab', { name: 'Overview' }),
    );
    expect(query()).toEqual({
      object: 'ImageRepository/default/podinfo',
      tags: 'eligible',
    });

    // A drawer opened by a link is closed by replacing the entry: the other parameters stay.
    await userEvent.click(
      within(dialog).getByRole('button', { name: 'Close' }),
    );
    await waitFor(() =>
      expect(screen.queryByRole('dialog')).not.toBeInTheDocument(),
    );
    expect(query()).toEqual({ tags: 'eligible' });
  });

  it('says so when the URL names an object the entity does not have', async () => {
    await renderSection(fakeBackend(), {
      url: '/image-updates?object=ImagePolicy%2Fdefault%2Fgone',
    });
    expect(
      await screen.findByText(
        "ImagePolicy/default/gone is not one of this entity's automation objects (any more).",
      ),
    ).toBeInTheDocument();
    expect(screen.queryByRole('dialog')).not.toBeInTheDocument();
    await userEvent.click(screen.getByRole('button', { name: 'Close' }));
    expect(query()).toEqual({});
  });

  it('pages through the events with the cursor', async () => {
    const api = fakeBackend();
    const events: ObjectEvent[] = Array.from({ length: 25 }, (_, i) => ({
      id: i + 1,
      objectId: 'GitRepository/default/podinfo',
      time: new Date(Date.UTC(2026, 10, 22, 0, i)).toISOString(),
      type: i === 24 ? 'Warning' : 'Normal',
      reason: i === 24 ? 'GitOperationFailed' : 'NewArtifact',
      message: `event ${i + 1}`,
    }));
    api.addEvents('GitRepository/default/podinfo', events);
    await renderSection(api, {
      url: '/image-updates?object=GitRepository%2Fdefault%2Fpodinfo&objectTab=events',
    });
    const dialog = await screen.findByRole('dialog', {
      name: 'GitRepository default/podinfo',
    });
    const table = await within(dialog).findByRole('table', {
      name: 'Events of GitRepository default/podinfo',
    });
    await within(table).findByText('event 25');
    const rows = () => within(table).getAllByRole('row').slice(1);
    expect(rows()).toHaveLength(20);
    expect(within(rows()[0]).getByText('Warning')).toBeInTheDocument();
    expect(within(rows()[19]).getByText('event 6')).toBeInTheDocument();
    expect(
      within(dialog).getByRole('button', { name: 'Previous table page' }),
    ).toBeDisabled();

    await userEvent.click(
      within(dialog).getByRole('button', { name: 'Next table page' }),
    );
    await within(table).findByText('event 5');
    expect(rows().map(r => within(r).getByText(/^event /).textContent)).toEqual(
      ['event 5', 'event 4', 'event 3', 'event 2', 'event 1'],
    );
    expect(
      api.calls.filter(c => c.method === 'getEvents').map(c => c.args[1]),
    ).toEqual(
      expect.arrayContaining([
        { limit: 20, cursor: undefined },
        { limit: 20, cursor: '6' },
      ]),
    );
    expect(
      within(dialog).getByRole('button', { name: 'Next table page' }),
    ).toBeDisabled();

    await userEvent.click(
      within(dialog).getByRole('button', { name: 'Previous table page' }),
    );
    expect(await within(table).findByText('event 25')).toBeInTheDocument();
  });

  it('collapses repeated events in the history of a kind without scans', async () => {
    const api = fakeBackend();
    const event = (
      id: number,
      reason: string,
      message: string,
    ): ObjectEvent => ({
      id,
      objectId: 'ImageUpdateAutomation/default/podinfo',
      time: new Date(Date.UTC(2026, 10, 22, 1, id)).toISOString(),
      type: reason === 'Succeeded' ? 'Normal' : 'Warning',
      reason,
      message,
    });
    api.addEvents('ImageUpdateAutomation/default/podinfo', [
      event(1, 'Succeeded', 'pushed commit a1b2c3d4'),
      event(2, 'GitOperationFailed', 'failed to push: permission denied'),
      event(3, 'GitOperationFailed', 'failed to push: permission denied'),
      event(4, 'GitOperationFailed', 'failed to push: permission denied'),
    ]);
    await renderSection(api, {
      url: '/image-updates?object=ImageUpdateAutomation%2Fdefault%2Fpodinfo&objectTab=history',
    });
    const history = await screen.findByRole('list', {
      name: 'History of ImageUpdateAutomation default/podinfo',
    });
    const entries = within(history).getAllByRole('listitem');
    expect(entries).toHaveLength(2);
    expect(entries[0]).toHaveTextContent('Warning · GitOperationFailed ×3');
    expect(entries[0]).toHaveTextContent(
      '2026-11-22 01:02:00 UTC – 2026-11-22 01:04:00 UTC',
    );
    expect(entries[1]).toHaveTextContent('Normal · Succeeded');
    expect(entries[1]).not.toHaveTextContent('×');
  });

  it('shows the spec and status as YAML', async () => {
    await renderSection(fakeBackend(), {
      url: '/image-updates?object=ImageRepository%2Fdefault%2Fpodinfo&objectTab=yaml',
    });
    const yaml = await screen.findByRole('region', {
      name: 'YAML of ImageRepository default/podinfo',
    });
    expect(yaml.textContent).toContain('kind: ImageRepository');
    expect(yaml.textContent).toContain(
      'spec:\n  image: ghcr.io/stefanprodan/podinfo\n  interval: 5m\n',
    );
    expect(yaml.textContent).toContain(
      'secretRef:\n    name: ghcr-credentials',
    );
    expect(yaml.textContent).toContain('tagCount: 42');
  });

  it('explains a Stalled object: detected, cause with the field path, fix and docs', async () => {
    await renderSection(fakeBackend(), {
      url: '/image-updates?object=ImageRepository%2Fdefault%2Fredis',
    });
    const dialog = await screen.findByRole('dialog', {
      name: 'ImageRepository default/redis',
    });
    const diagnosis = within(dialog).getByRole('region', {
      name: 'What is wrong with ImageRepository default/redis',
    });
    expect(diagnosis).toHaveTextContent(
      'DetectedStalled: InvalidManifest since 2026-11-20 08:00:00 UTC',
    );
    const [causes, fixes] = within(diagnosis).getAllByRole('list');
    expect(
      within(causes)
        .getAllByRole('listitem')
        .map(li => li.textContent),
    ).toEqual([
      'spec.intervall: unknown field',
      'spec.interval: Required value',
    ]);
    expect(
      within(fixes)
        .getAllByRole('listitem')
        .map(li => li.textContent),
    ).toEqual([
      'Remove spec.intervall from url:https://example.test/podinfo/automation.yaml, or correct its spelling.',
      'Add spec.interval to url:https://example.test/podinfo/automation.yaml.',
      expect.stringMatching(
        /^A Stalled object is not retried until its manifest changes/,
      ),
    ]);
    expect(
      within(diagnosis).getByRole('link', {
        name: 'ImageRepository reference',
      }),
    ).toHaveAttribute(
      'href',
      'https://fluxcd.io/flux/components/image/imagerepositories/',
    );
    const conditions = within(dialog).getByRole('table', {
      name: 'Conditions of ImageRepository default/redis',
    });
    expect(within(conditions).getAllByRole('row')).toHaveLength(3);
  });

  it('shows the automation panel: last push, applied policies, and markers not applied with why', async () => {
    await renderSection(fakeBackend(), {
      url: '/image-updates?object=ImageUpdateAutomation%2Fdefault%2Fpodinfo&objectTab=details',
    });
    const dialog = await screen.findByRole('dialog', {
      name: 'ImageUpdateAutomation default/podinfo',
    });
    expect(
      within(dialog).getByRole('tab', { name: 'Automation' }),
    ).toHaveAttribute('aria-selected', 'true');
    expect(within(dialog).getByRole('tabpanel')).toHaveTextContent(
      'Last push commita1b2c3d4',
    );
    const markers = within(dialog).getByRole('table', {
      name: 'Markers found by ImageUpdateAutomation default/podinfo',
    });
    const [, applied, held, foreign] = within(markers).getAllByRole('row');
    expect(applied).toHaveTextContent('deploy/podinfo.yaml:12');
    expect(applied).toHaveTextContent(/Yes$/);
    expect(held).toHaveTextContent('No: holds 6.5.0, the policy selects 6.5.1');
    expect(foreign).toHaveTextContent(
      "No: names a policy in namespace apps; only policies in the automation's namespace default are applied",
    );
  });

  it('shows the exported inputs of an input provider with their total and limit', async () => {
    await renderSection(fakeBackend(), {
      url: '/image-updates?object=ResourceSetInputProvider%2Fdefault%2Fpodinfo-tags&objectTab=details',
    });
    const dialog = await screen.findByRole('dialog', {
      name: 'ResourceSetInputProvider default/podinfo-tags',
    });
    expect(within(dialog).getByRole('tabpanel')).toHaveTextContent(
      'Exported inputsTotal 2 (max 5)',
    );
    const inputs = within(dialog).getByRole('table', {
      name: 'Inputs exported by ResourceSetInputProvider default/podinfo-tags',
    });
    const rows = within(inputs).getAllByRole('row').slice(1);
    expect(rows.map(r => r.textContent)).toEqual([
      '48955639tag: 6.5.1digest: sha256:abcd',
      '48955640tag: 6.5.0digest: sha256:ef01',
    ]);
  });

  it('shows an input provider that exported nothing (no exportedInputs, as Flux writes it) as a total of 0', async () => {
    const api = fakeBackend();
    const provider = (name: string, status: Record<string, unknown>) =>
      objectView('ResourceSetInputProvider', name, {
        apiVersion: 'fluxcd.controlplane.io/v1',
        spec: { type: 'OCIArtifactTag', url: 'oci://ghcr.io/acme/app' },
        status: {
          ...status,
          conditions: [
            condition('Ready', 'True', 'ReconciliationSucceeded', 'done'),
          ],
        },
      });
    api.addObject(provider('empty', { lastExportedRevision: 'sha256:beef' }));
    api.addObject(provider('fresh', {}));
    for (const [name, shown] of [
      ['empty', 'Exported inputsTotal 0 (max 100)'],
      ['fresh', 'Exported inputsnone exported yet'],
    ]) {
      await renderSection(api, {
        url: `/image-updates?object=ResourceSetInputProvider%2Fdefault%2F${name}&objectTab=details`,
      });
      const dialog = await screen.findByRole('dialog', {
        name: `ResourceSetInputProvider default/${name}`,
      });
      expect(within(dialog).getByRole('tabpanel')).toHaveTextContent(shown);
      cleanup();
    }
  });

  it("shows a ResourceSet's inputs, clusters, inventory and last reconciles", async () => {
    const api = fakeBackend();
    api.addObject(
      objectView('ResourceSet', 'podinfo', {
        apiVersion: 'fluxcd.controlplane.io/v1',
        spec: {
          inputs: [{ env: 'staging' }],
          inputsFrom: [
            { kind: 'ResourceSetInputProvider', name: 'podinfo-tags' },
          ],
          inputStrategy: { name: 'Permute' },
        },
        status: {
          appliedClusters: ['staging', 'prod-eu'],
          lastAppliedRevision: 'sha256:feed',
          inventory: {
            entries: [
              { id: 'apps_podinfo_apps_Deployment', v: 'v1' },
              { id: '_apps__Namespace', v: 'v1' },
            ],
          },
          history: [
            {
              digest: 'sha256:feed',
              firstReconciled: '2026-11-21T10:00:00Z',
              lastReconciled: '2026-11-22T01:00:00Z',
              lastReconciledDuration: '1.2s',
              lastReconciledStatus: 'ReconciliationSucceeded',
              totalReconciliations: 7,
              metadata: { inputs: '2', resources: '2' },
            },
          ],
          conditions: [
            condition('Ready', 'True', 'ReconciliationSucceeded', 'applied'),
          ],
        },
      }),
    );
    // The status holds the union; the backend's inventories say which cluster has what.
    api.setInventory('ResourceSet/default/podinfo', [
      {
        cluster: 'prod-eu',
        state: 'applied',
        lastAppliedRevision: 'sha256:feed',
        updatedAt: '2026-11-22T01:00:00Z',
        entries: [
          {
            apiVersion: 'apps/v1',
            kind: 'Deployment',
            namespace: 'apps',
            name: 'podinfo',
          },
          { apiVersion: 'v1', kind: 'Namespace', name: 'apps' },
        ],
      },
      {
        cluster: 'staging',
        state: 'applied',
        lastAppliedRevision: 'sha256:feed',
        updatedAt: '2026-11-22T01:00:00Z',
        entries: [{ apiVersion: 'v1', kind: 'Namespace', name: 'apps' }],
      },
    ]);
    await renderSection(api, {
      url: '/image-updates?object=ResourceSet%2Fdefault%2Fpodinfo&objectTab=details',
    });
    const dialog = await screen.findByRole('dialog', {
      name: 'ResourceSet default/podinfo',
    });
    const panel = within(dialog).getByRole('tabpanel');
    expect(panel).toHaveTextContent('Input strategyPermute');
    expect(panel).toHaveTextContent(
      'Input providersResourceSetInputProvider podinfo-tags',
    );
    expect(panel).toHaveTextContent('Applied to clustersstaging, prod-eu');
    expect(panel).toHaveTextContent('Last applied revisionsha256:feed');
    const prodEu = await within(dialog).findByRole('table', {
      name: 'Inventory of ResourceSet default/podinfo in prod-eu',
    });
    expect(
      within(prodEu)
        .getAllByRole('row')
        .slice(1)
        .map(r => r.textContent),
    ).toEqual(['Deploymentappspodinfoapps/v1', 'Namespace—appsv1']);
    const staging = within(dialog).getByRole('region', {
      name: 'Cluster staging',
    });
    expect(staging).toHaveTextContent('1 object · applied');
    const history = within(dialog).getByRole('table', {
      name: 'Reconcile history of ResourceSet default/podinfo',
    });
    const [, last] = within(history).getAllByRole('row');
    expect(last).toHaveTextContent('ReconciliationSucceeded');
    expect(last).toHaveTextContent('inputs: 2, resources: 2');
    expect(last).toHaveTextContent('×7');
  });

  it('keeps the last objects on screen when a reload fails, and says they may be stale', async () => {
    const api = fakeBackend();
    await renderSection(api, { pollIntervalMs: 200 });
    api.failLoadsWith(new Error('backend unavailable'));

    const alert = await screen.findByRole('alert');
    expect(alert).toHaveTextContent(
      'Could not load the automation objects — showing the last data loaded, which may be stale',
    );
    expect(alert).toHaveTextContent('backend unavailable');
    expect(screen.getByRole('table', { name: TABLE })).toBeInTheDocument();
    expect(
      within(rowOf('ImageRepository default/redis')).getByText('Stalled'),
    ).toBeInTheDocument();
  });

  describe('with more objects than a page', () => {
    /** The five objects of {@link fakeBackend} and 25 ImagePolicies after them: 30 in all. */
    function bigBackend() {
      const api = fakeBackend();
      for (let i = 1; i <= 25; i++) {
        api.addObject(
          objectView('ImagePolicy', `policy-${String(i).padStart(2, '0')}`, {
            spec: {
              imageRepositoryRef: { name: 'podinfo' },
              policy: { semver: { range: '>=1.0.0' } },
            },
            status: {
              conditions: [
                condition(
                  'Ready',
                  'True',
                  'Succeeded',
                  `policy ${i} selected 1.0.${i}`,
                ),
              ],
            },
          }),
        );
      }
      return api;
    }
    const bodyRows = (table: HTMLElement) =>
      within(table).getAllByRole('row').slice(1);

    it('shows 25 objects a page, with the next page, the previous one and a larger page size', async () => {
      const table = await renderSection(bigBackend());
      expect(bodyRows(table)).toHaveLength(25);
      expect(screen.getByText('Objects 1–25 of 30')).toBeInTheDocument();
      expect(
        screen.queryByRole('button', { name: 'ImagePolicy default/policy-21' }),
      ).not.toBeInTheDocument();
      expect(
        screen.getByRole('button', { name: 'Previous table page' }),
      ).toBeDisabled();
      const user = userEvent.setup();

      await user.click(screen.getByRole('button', { name: 'Next table page' }));
      expect(bodyRows(table)).toHaveLength(5);
      expect(screen.getByText('Objects 26–30 of 30')).toBeInTheDocument();
      expect(
        bodyRows(table).map(r => within(r).getByRole('rowheader').textContent),
      ).toEqual(
        [21, 22, 23, 24, 25].map(i => `ImagePolicy default/policy-${i}`),
      );
      // The rows of a later page work as those of the first: here, its actions.
      await user.click(
        screen.getByRole('button', {
          name: 'Suspend ImagePolicy default/policy-25',
        }),
      );
      expect(
        await within(rowOf('ImagePolicy default/policy-25')).findByRole(
          'button',
          {
            name: 'Resume ImagePolicy default/policy-25',
          },
        ),
      ).toBeEnabled();
      expect(
        screen.getByRole('button', { name: 'Next table page' }),
      ).toBeDisabled();

      await user.click(
        screen.getByRole('button', { name: 'Previous table page' }),
      );
      expect(bodyRows(table)).toHaveLength(25);

      await user.click(
        screen.getByRole('button', { name: /Select table page size/ }),
      );
      await user.click(
        await screen.findByRole('option', { name: '50 per page' }),
      );
      await waitFor(() => expect(bodyRows(table)).toHaveLength(30));
      expect(screen.getByText('Objects 1–30 of 30')).toBeInTheDocument();
    });

    it('opens the drawer of an object named in the URL that is not on the first page', async () => {
      await renderSection(bigBackend(), {
        url: '/image-updates?object=ImagePolicy%2Fdefault%2Fpolicy-25',
      });
      const dialog = await screen.findByRole('dialog', {
        name: 'ImagePolicy default/policy-25',
      });
      expect(within(dialog).getByRole('tabpanel')).toHaveTextContent(
        'policy 25 selected 1.0.25',
      );
      expect(
        screen.queryByText(
          "ImagePolicy/default/policy-25 is not one of this entity's automation objects (any more).",
        ),
      ).not.toBeInTheDocument();
    });

    it('has no pagination for a page or less of objects', async () => {
      await renderSection(fakeBackend());
      expect(
        screen.queryByRole('button', { name: 'Next table page' }),
      ).not.toBeInTheDocument();
      expect(screen.queryByText(/^Objects \d/)).not.toBeInTheDocument();
    });
  });

  it('says so when the entity has no automation objects', async () => {
    const api = new FakeImageAutomationApi({
      user: 'user:default/guest',
      now: () => new Date(),
    });
    renderInTestApp(
      <EntityDataHarness entityRef={entityRef}>
        {data => (
          <AutomationObjectsSection
            entityRef={entityRef}
            objects={data.objects}
          />
        )}
      </EntityDataHarness>,
      { apis: [[imageAutomationApiRef, api]] },
    );
    expect(
      await screen.findByText(/No automation objects belong to this entity/),
    ).toBeInTheDocument();
    expect(screen.queryByRole('table')).not.toBeInTheDocument();
  });
});
