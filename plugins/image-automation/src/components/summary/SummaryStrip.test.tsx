import { useState } from 'react';
import { act, screen, within } from '@testing-library/react';
import userEvent, {
  PointerEventsCheckLevel,
} from '@testing-library/user-event';
import { renderInTestApp } from '@backstage/frontend-test-utils';
import {
  AutomationObjectView,
  EntityVersionsView,
  Page,
  PromotionGateResult,
  PromotionView,
  TargetVersionView,
} from '@imageops/backstage-plugin-image-automation-common';
import { fixClock } from '../../testing/fixClock';
import { imageAutomationApiRef } from '../../api/ImageAutomationApi';
import { LiveUpdates } from '../../hooks/useLiveUpdates';
import { PolledValue } from '../../hooks/usePolledValue';
import { FakeImageAutomationApi } from '../../testing/FakeImageAutomationApi';
import { condition, objectView } from '../../testing/fixtures';
import { SummaryStrip, SummaryStripProps } from './SummaryStrip';

const NOW = new Date('2026-11-22T02:00:00Z');
const allowed = { allowed: true };
const RECONCILE_DENIED = 'Missing permission image-automation.object.reconcile';

function minutesFromNow(minutes: number): string {
  return new Date(NOW.getTime() + minutes * 60_000).toISOString();
}

function loaded<T>(value: T): PolledValue<T> {
  return { value, loading: false, refresh: jest.fn(async () => {}) };
}

function failed<T>(message: string, value?: T): PolledValue<T> {
  return {
    value,
    error: new Error(message),
    loading: false,
    refresh: jest.fn(async () => {}),
  };
}

function loading<T>(): PolledValue<T> {
  return { loading: true, refresh: jest.fn(async () => {}) };
}

function row(
  image: string,
  targetId: string,
  behindTags: number,
): TargetVersionView {
  return {
    target: { id: targetId, type: 'git', objectId: targetId.slice(4) },
    subject: `ImagePolicy/apps/${image}`,
    image: `ghcr.io/acme/${image}`,
    behind: {
      tags: behindTags,
      summary: behindTags ? `${behindTags} tags` : 'up to date',
    },
  };
}

/** Two images on three targets; `web` is behind on two of them (one carries both images). */
const versionsView: EntityVersionsView = {
  entityRef: 'component:default/podinfo',
  items: [
    row('web', 'git:ImageUpdateAutomation/apps/staging', 2),
    row('worker', 'git:ImageUpdateAutomation/apps/staging', 1),
    row('web', 'git:ImageUpdateAutomation/apps/prod', 3),
    row('web', 'git:ImageUpdateAutomation/apps/canary', 0),
  ],
};

function gate(
  name: PromotionGateResult['gate'],
  state: PromotionGateResult['state'],
): PromotionGateResult {
  return { gate: name, state, summary: `${name} ${state}`, evidence: {} };
}

function promotion(
  id: string,
  gates: PromotionGateResult[],
  overrides: Partial<PromotionView> = {},
): PromotionView {
  return {
    id,
    entityRef: 'component:default/podinfo',
    target: {
      id: 'git:ImageUpdateAutomation/apps/prod',
      type: 'git',
      objectId: 'ImageUpdateAutomation/apps/prod',
    },
    subject: 'ImagePolicy/apps/web',
    to: { tag: '1.1.0' },
    state: 'pending',
    gates,
    votes: [],
    history: [],
    createdAt: '2026-11-22T01:00:00Z',
    updatedAt: '2026-11-22T01:00:00Z',
    actions: { approve: allowed, reject: allowed, promoteNow: allowed },
    ...overrides,
  };
}

/** Four open promotions: two wait for an approval the user may give. */
const promotionsPage: Page<PromotionView> = {
  items: [
    promotion('approve-1', [gate('approval', 'waiting')]),
    promotion('approve-2', [
      gate('approval', 'waiting'),
      gate('soak', 'waiting'),
    ]),
    promotion('approved-by-me', [gate('approval', 'waiting')], {
      actions: {
        approve: {
          allowed: false,
          reason: 'You approved this version already',
        },
        reject: allowed,
        promoteNow: allowed,
      },
    }),
    promotion('soaking', [gate('approval', 'passed'), gate('soak', 'waiting')]),
  ],
};

const ready = { conditions: [condition('Ready', 'True', 'Succeeded', 'ok')] };

function repository(
  name: string,
  overrides: Partial<AutomationObjectView> = {},
): AutomationObjectView {
  return objectView('ImageRepository', name, { status: ready, ...overrides });
}

/** Three ImageRepositories (one the user may not reconcile), a stalled policy and a failing automation. */
function automationObjects(): AutomationObjectView[] {
  return [
    repository('web', {
      lastRunAt: minutesFromNow(-2),
      nextRunAt: minutesFromNow(3),
    }),
    repository('worker', {
      lastRunAt: minutesFromNow(-10),
      nextRunAt: minutesFromNow(8),
      actions: {
        suspend: allowed,
        resume: allowed,
        reconcile: { allowed: false, reason: RECONCILE_DENIED },
      },
    }),
    // Suspended: its next run is a recheck, not a scan.
    repository('legacy', {
      suspended: true,
      lastRunAt: minutesFromNow(-60),
      nextRunAt: minutesFromNow(1),
      actions: {
        suspend: allowed,
        resume: allowed,
        reconcile: {
          allowed: false,
          reason: 'Suspended objects are not reconciled: resume first',
        },
      },
    }),
    objectView('ImagePolicy', 'web', {
      status: {
        conditions: [
          condition('Stalled', 'True', 'InvalidSemverRange', 'bad range'),
        ],
      },
    }),
    objectView('ImageUpdateAutomation', 'prod', {
      status: {
        conditions: [condition('Ready', 'False', 'GitPushFailed', 'denied')],
      },
    }),
  ];
}

const polling: LiveUpdates = {
  live: false,
  pollIntervalMs: 30_000,
  version: 0,
};

function fakeBackend(objects: AutomationObjectView[]) {
  const api = new FakeImageAutomationApi({
    user: 'user:default/guest',
    now: () => new Date(),
  });
  objects.forEach(o => api.addObject(o));
  return api;
}

/** Renders the strip with props a test can change later, as the lead's reloads would. */
async function renderStrip(
  api: FakeImageAutomationApi,
  overrides: Partial<SummaryStripProps> = {},
) {
  const control: { update?: (patch: Partial<SummaryStripProps>) => void } = {};
  const onChanged = jest.fn();
  const initial: SummaryStripProps = {
    objects: loaded(automationObjects()),
    versions: loaded(versionsView),
    promotions: loaded(promotionsPage),
    live: polling,
    onChanged,
    ...overrides,
  };
  function Harness() {
    const [props, setProps] = useState(initial);
    control.update = patch => setProps(p => ({ ...p, ...patch }));
    return <SummaryStrip {...props} />;
  }
  await renderInTestApp(<Harness />, {
    apis: [[imageAutomationApiRef, api]],
  });
  const region = screen.getByRole('region', { name: 'Summary' });
  return {
    region,
    onChanged,
    update: (patch: Partial<SummaryStripProps>) =>
      act(() => control.update!(patch)),
    counter: (name: string) => within(region).getByRole('group', { name }),
  };
}

describe('SummaryStrip', () => {
  fixClock(NOW);

  it('counts images, targets, targets behind, open promotions and objects not Ready', async () => {
    const { counter } = await renderStrip(fakeBackend(automationObjects()));

    expect(counter('Images')).toHaveTextContent('2');
    expect(counter('Targets')).toHaveTextContent('3');
    // staging (two images behind) counts once; canary is up to date.
    expect(counter('Targets behind')).toHaveTextContent('2');
    expect(counter('Targets behind')).toHaveTextContent('2 of 3 behind');
    expect(counter('Pending promotions')).toHaveTextContent('4');
    expect(counter('Pending promotions')).toHaveTextContent(
      '2 need your approval',
    );
    expect(counter('Objects not Ready')).toHaveTextContent('2');
    expect(counter('Objects not Ready')).toHaveTextContent(
      '1 stalled · 1 not ready',
    );
  });

  it('says when all is well in words, and marks a partial page of promotions', async () => {
    const { counter } = await renderStrip(fakeBackend([]), {
      objects: loaded([repository('web')]),
      versions: loaded({
        entityRef: 'component:default/podinfo',
        items: [row('web', 'git:ImageUpdateAutomation/apps/prod', 0)],
      }),
      promotions: loaded({
        items: [promotion('soaking', [gate('soak', 'waiting')])],
        nextCursor: 'more',
      }),
    });

    expect(counter('Targets behind')).toHaveTextContent('all up to date');
    expect(counter('Pending promotions')).toHaveTextContent('1+');
    expect(counter('Pending promotions')).toHaveTextContent(
      'none need your approval',
    );
    expect(counter('Objects not Ready')).toHaveTextContent('all 1 Ready');
  });

  it('says which clusters could not be read, once per cluster, and nothing while all answer', async () => {
    const clusterRow = (
      resourceSet: string,
      cluster: string,
      error?: string,
    ): TargetVersionView => ({
      target: {
        id: `cluster:ResourceSet/apps/${resourceSet}@${cluster}`,
        type: 'cluster',
        objectId: `ResourceSet/apps/${resourceSet}`,
        cluster,
      },
      subject: `ResourceSetInputProvider/apps/${resourceSet}`,
      image: 'ghcr.io/acme/web',
      behind: { tags: 0, summary: 'up to date' },
      running: error
        ? { summary: error, images: [], error }
        : { summary: '1/1 pods on 1.0.0', images: [] },
    });
    const unreadable = "cluster 'prod' could not be read: connect ECONNREFUSED";
    const { region, counter, update } = await renderStrip(
      fakeBackend(automationObjects()),
      {
        versions: loaded({
          entityRef: 'component:default/podinfo',
          // Two ResourceSets on prod: the cluster counts once.
          items: [
            clusterRow('web', 'prod', unreadable),
            clusterRow('worker', 'prod', unreadable),
            clusterRow('web', 'staging'),
          ],
        }),
      },
    );

    const clusters = counter('Unreadable clusters');
    expect(clusters).toHaveTextContent('1');
    const text = within(clusters).getByText(
      '1 cluster could not be read: prod',
    );
    expect(text).toHaveAttribute('data-color', 'warning');

    update({ versions: loaded(versionsView) });
    expect(
      within(region).queryByRole('group', { name: 'Unreadable clusters' }),
    ).not.toBeInTheDocument();
    expect(
      within(region).queryByText(/could not be read/),
    ).not.toBeInTheDocument();
  });

  it('says when the last scan ran and when the next is due, and that it polls', async () => {
    const { region, update } = await renderStrip(
      fakeBackend(automationObjects()),
    );

    // Newest last run (web, 2 min ago); soonest next run not counting the suspended repository.
    expect(
      within(region).getByText(/Last scan 2m ago · next in 3m/),
    ).toBeInTheDocument();
    expect(within(region).getByText(/Polling every 30 s/)).toBeInTheDocument();
    expect(within(region).queryByText('Live')).not.toBeInTheDocument();

    update({ live: { live: true, pollIntervalMs: 60_000, version: 3 } });
    expect(within(region).getByText('Live')).toBeInTheDocument();
    expect(within(region).queryByText(/Polling every/)).not.toBeInTheDocument();
  });

  it('scans only the ImageRepositories the user may reconcile, and shows progress until the backend handled the request', async () => {
    const objects = automationObjects();
    const api = fakeBackend(objects);
    const { region, update, onChanged } = await renderStrip(api);

    await userEvent.click(
      within(region).getByRole('button', { name: 'Scan now' }),
    );

    expect(api.calls.filter(c => c.method === 'runAction')).toEqual([
      {
        method: 'runAction',
        args: [
          { kind: 'ImageRepository', namespace: 'default', name: 'web' },
          'reconcile',
        ],
      },
    ]);
    expect(onChanged).toHaveBeenCalledTimes(1);
    expect(
      await within(region).findByRole('button', { name: /^Scanning…/ }),
    ).toBeInTheDocument();
    expect(within(region).getByRole('status')).toHaveTextContent(
      'Requested for 1 registry scan; skipped 2 registry scans you may not reconcile',
    );
    // The other global action waits meanwhile.
    expect(
      within(region).getByRole('button', { name: 'Reconcile all' }),
    ).toBeDisabled();

    // A reload that has the request but not its handling: still scanning.
    const requestedAt = NOW.toISOString();
    update({
      objects: loaded(
        objects.map(o =>
          o.name === 'web' && o.kind === 'ImageRepository'
            ? {
                ...o,
                reconcileRequestedAt: requestedAt,
                lastRunAt: minutesFromNow(1),
              }
            : o,
        ),
      ),
    });
    expect(
      within(region).getByRole('button', { name: /^Scanning…/ }),
    ).toBeInTheDocument();

    // The backend recorded that it handled the request: done.
    update({
      objects: loaded(
        objects.map(o =>
          o.name === 'web' && o.kind === 'ImageRepository'
            ? {
                ...o,
                reconcileRequestedAt: requestedAt,
                status: { ...o.status, lastHandledReconcileAt: requestedAt },
              }
            : o,
        ),
      ),
    });
    expect(
      within(region).getByRole('button', { name: 'Scan now' }),
    ).toBeEnabled();
    expect(within(region).getByRole('status')).toHaveTextContent('');
  });

  it('reconciles every object the user may reconcile with Reconcile all', async () => {
    const api = fakeBackend(automationObjects());
    const { region } = await renderStrip(api);

    await userEvent.click(
      within(region).getByRole('button', { name: 'Reconcile all' }),
    );

    expect(
      api.calls
        .filter(c => c.method === 'runAction')
        .map(c => c.args[0] as { kind: string; name: string })
        .map(ref => `${ref.kind}/${ref.name}`)
        .sort(),
    ).toEqual([
      'ImagePolicy/web',
      'ImageRepository/web',
      'ImageUpdateAutomation/prod',
    ]);
    expect(
      await within(region).findByRole('button', { name: /^Reconciling…/ }),
    ).toBeInTheDocument();
  });

  it('scans the tag input providers of a Gitless entity, which has no ImageRepository', async () => {
    const provider = (name: string, type: string) =>
      objectView('ResourceSetInputProvider', name, {
        apiVersion: 'fluxcd.controlplane.io/v1',
        spec: { type },
        status: ready,
        lastRunAt: minutesFromNow(-1),
        nextRunAt: minutesFromNow(9),
      });
    const objects = [
      provider('app-image', 'OCIArtifactTag'),
      provider('settings', 'Static'),
      objectView('ResourceSet', 'app', {
        apiVersion: 'fluxcd.controlplane.io/v1',
        status: ready,
      }),
    ];
    const api = fakeBackend(objects);
    const { region } = await renderStrip(api, { objects: loaded(objects) });

    expect(region).toHaveTextContent('Last scan 1m ago · next in 9m');
    await userEvent.click(
      within(region).getByRole('button', { name: 'Scan now' }),
    );
    // Only the provider that lists a registry's tags: a Static provider scans nothing.
    expect(api.calls.filter(c => c.method === 'runAction')).toEqual([
      {
        method: 'runAction',
        args: [
          {
            kind: 'ResourceSetInputProvider',
            namespace: 'default',
            name: 'app-image',
          },
          'reconcile',
        ],
      },
    ]);
    expect(within(region).getByRole('status')).toHaveTextContent(
      'Requested for 1 registry scan',
    );
  });

  it('disables Scan now with the server’s reason when no ImageRepository may be reconciled', async () => {
    const denied = automationObjects().map(o =>
      o.kind === 'ImageRepository' && !o.suspended
        ? {
            ...o,
            actions: {
              ...o.actions,
              reconcile: { allowed: false, reason: RECONCILE_DENIED },
            },
          }
        : o,
    );
    const api = fakeBackend(denied);
    const { region } = await renderStrip(api, { objects: loaded(denied) });

    const scan = within(region).getByRole('button', { name: 'Scan now' });
    expect(scan).toBeDisabled();
    expect(scan).toHaveAccessibleDescription(
      `${RECONCILE_DENIED}; Suspended objects are not reconciled: resume first`,
    );
    // Reconcile all still has objects it may reconcile.
    expect(
      within(region).getByRole('button', { name: 'Reconcile all' }),
    ).toBeEnabled();

    const pointer = userEvent.setup({
      pointerEventsCheck: PointerEventsCheckLevel.Never,
    });
    await pointer.hover(scan);
    expect(await screen.findByRole('tooltip')).toHaveTextContent(
      RECONCILE_DENIED,
    );
    expect(api.countCalls('runAction')).toBe(0);
  });

  it('shows which objects failed until the error is dismissed', async () => {
    const objects = automationObjects();
    // The backend no longer knows the automation: its request fails, the others succeed.
    const api = fakeBackend(
      objects.filter(o => o.kind !== 'ImageUpdateAutomation'),
    );
    const { region, update } = await renderStrip(api);

    await userEvent.click(
      within(region).getByRole('button', { name: 'Reconcile all' }),
    );

    const alert = await within(region).findByRole('alert');
    expect(alert).toHaveTextContent(
      'Reconcile all failed for 1 of 3 automation objects',
    );
    expect(alert).toHaveTextContent(
      'ImageUpdateAutomation default/prod: ImageUpdateAutomation default/prod not found',
    );
    expect(alert).not.toHaveTextContent('ImagePolicy default/web');

    // It stays through reloads and the requests being handled.
    update({
      objects: loaded(
        objects.map(o => ({
          ...o,
          status: { ...o.status, lastHandledReconcileAt: NOW.toISOString() },
        })),
      ),
    });
    expect(
      within(region).getByRole('button', { name: 'Reconcile all' }),
    ).toBeEnabled();
    expect(within(region).getByRole('alert')).toBeInTheDocument();

    await userEvent.click(
      within(alert).getByRole('button', { name: 'Dismiss' }),
    );
    expect(within(region).queryByRole('alert')).not.toBeInTheDocument();
  });

  it('says unavailable for the counters of a failed source while the others render', async () => {
    const { region, counter } = await renderStrip(
      fakeBackend(automationObjects()),
      { versions: failed('versions: 503 Service Unavailable') },
    );

    for (const name of ['Images', 'Targets', 'Targets behind']) {
      expect(counter(name)).toHaveTextContent('unavailable');
      expect(counter(name)).toHaveAccessibleDescription(
        /versions: 503 Service Unavailable/,
      );
    }
    expect(
      within(region).getByText(/Versions unavailable/),
    ).toBeInTheDocument();
    expect(counter('Pending promotions')).toHaveTextContent('4');
    expect(counter('Objects not Ready')).toHaveTextContent('2');
    expect(within(region).getByText(/Last scan 2m ago/)).toBeInTheDocument();
  });

  it('marks data kept after a failed refresh as stale, and shows loading sources as loading', async () => {
    const objects = automationObjects();
    const { region, counter } = await renderStrip(fakeBackend(objects), {
      objects: failed('objects: connection refused', objects),
      promotions: loading(),
    });

    expect(counter('Objects not Ready')).toHaveTextContent('2');
    expect(counter('Objects not Ready')).toHaveTextContent('stale');
    expect(counter('Objects not Ready')).toHaveAccessibleDescription(
      /objects: connection refused/,
    );
    expect(
      within(region).getByText(/next in 3m \(stale\)/),
    ).toBeInTheDocument();
    expect(counter('Pending promotions')).toHaveTextContent('Loading');
    expect(counter('Pending promotions')).not.toHaveTextContent(/\d/);
    expect(counter('Images')).toHaveTextContent('2');
  });

  it('disables the global actions while the objects cannot be loaded', async () => {
    const api = fakeBackend([]);
    const { region, counter } = await renderStrip(api, {
      objects: failed('objects: 500 Internal Server Error'),
    });

    expect(counter('Objects not Ready')).toHaveTextContent('unavailable');
    expect(
      within(region).getByText(/Last scan unavailable/),
    ).toBeInTheDocument();
    const scan = within(region).getByRole('button', { name: 'Scan now' });
    expect(scan).toBeDisabled();
    expect(scan).toHaveAccessibleDescription(
      'The automation objects could not be loaded: objects: 500 Internal Server Error',
    );
  });
});
