import { act, screen, waitFor, within } from '@testing-library/react';
import { renderInTestApp } from '@backstage/frontend-test-utils';
import { Entity } from '@backstage/catalog-model';
import { NotAllowedError } from '@backstage/errors';
import { EntityProvider } from '@backstage/plugin-catalog-react';
import { SignalApi, signalApiRef } from '@backstage/plugin-signals-react';
import { JsonObject } from '@backstage/types';
import { imageAutomationApiRef } from '../api/ImageAutomationApi';
import { FakeImageAutomationApi } from '../testing/FakeImageAutomationApi';
import { condition, objectView } from '../testing/fixtures';
import { EntityImageAutomationContent } from './EntityImageAutomationContent';

const entity: Entity = {
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Component',
  metadata: {
    name: 'podinfo',
    namespace: 'default',
    annotations: { 'image-automation.io/manifests': './automation.yaml' },
  },
  spec: { type: 'service', owner: 'team-a', lifecycle: 'production' },
};

function fakeBackend(): FakeImageAutomationApi {
  const api = new FakeImageAutomationApi({
    user: 'user:default/guest',
    now: () => new Date('2026-11-22T02:00:00Z'),
  });
  api.addObject(
    objectView('ImageRepository', 'podinfo', {
      spec: { image: 'ghcr.io/stefanprodan/podinfo', interval: '5m' },
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
    }),
    [
      {
        id: 1,
        objectId: 'ImageRepository/default/podinfo',
        startedAt: '2026-11-22T01:00:00Z',
        durationMs: 850,
        outcome: 'success',
        tagCount: 42,
        revision: 'sha256:1111',
        tagsAdded: ['6.5.1'],
        tagsRemoved: ['5.0.0'],
        requests: 2,
      },
      {
        id: 2,
        objectId: 'ImageRepository/default/podinfo',
        startedAt: '2026-11-22T00:55:00Z',
        durationMs: 2400,
        outcome: 'failure',
        error: 'GET https://ghcr.io/v2/: 503 Service Unavailable',
        tagCount: 0,
        tagsAdded: [],
        tagsRemoved: [],
        requests: 3,
      },
    ],
  );
  api.addObject(
    objectView('ImagePolicy', 'podinfo', {
      status: {
        latestRef: {
          name: 'ghcr.io/stefanprodan/podinfo',
          tag: '6.5.1',
          digest: 'sha256:abcd',
        },
        observedPreviousRef: {
          name: 'ghcr.io/stefanprodan/podinfo',
          tag: '6.5.0',
        },
        conditions: [
          condition(
            'Ready',
            'False',
            'InvalidPolicy',
            'invalid policy: improper constraint',
          ),
          condition(
            'Stalled',
            'True',
            'InvalidPolicy',
            'invalid policy: improper constraint',
          ),
        ],
      },
      actions: {
        suspend: {
          allowed: false,
          reason: 'You are not an owner of component:default/podinfo',
        },
        resume: {
          allowed: false,
          reason: 'You are not an owner of component:default/podinfo',
        },
        reconcile: { allowed: true },
      },
    }),
  );
  api.addObject(
    objectView('ImageUpdateAutomation', 'podinfo', {
      suspended: true,
      suspendedBy: 'user:default/alice',
      suspendedAt: '2026-11-21T09:30:00Z',
      status: {
        conditions: [
          condition('Ready', 'False', 'GitOperationFailed', 'failed to push'),
          condition('Reconciling', 'True', 'ProgressingWithRetry', 'retrying'),
        ],
      },
    }),
  );
  return api;
}

/** A signal API that delivers what the test publishes (the app's signals plugin, without a backend). */
class TestSignals implements SignalApi {
  private readonly subscribers = new Map<
    string,
    Set<(message: JsonObject) => void>
  >();

  subscribe<T extends JsonObject = JsonObject>(
    channel: string,
    onMessage: (message: T) => void,
  ) {
    const set = this.subscribers.get(channel) ?? new Set();
    const deliver = onMessage as (message: JsonObject) => void;
    set.add(deliver);
    this.subscribers.set(channel, set);
    return { unsubscribe: () => void set.delete(deliver) };
  }

  publish(channel: string, message: JsonObject) {
    for (const onMessage of this.subscribers.get(channel) ?? [])
      onMessage(message);
  }

  channels(): string[] {
    return [...this.subscribers.keys()].filter(
      c => (this.subscribers.get(c)?.size ?? 0) > 0,
    );
  }
}

function renderTab(api: FakeImageAutomationApi, signals?: TestSignals) {
  const tab = (
    <EntityProvider entity={entity}>
      <EntityImageAutomationContent />
    </EntityProvider>
  );
  if (signals) {
    renderInTestApp(tab, {
      apis: [
        [imageAutomationApiRef, api],
        [signalApiRef, signals],
      ],
    });
  } else {
    renderInTestApp(tab, { apis: [[imageAutomationApiRef, api]] });
  }
}

describe('EntityImageAutomationContent', () => {
  it('shows the summary, then the versions, pending promotions, timeline and automation objects', async () => {
    const api = fakeBackend();
    api.setVersions('component:default/podinfo', []);
    renderTab(api);
    expect(
      await screen.findByRole('region', { name: 'Summary' }),
    ).toBeInTheDocument();
    await screen.findByRole('button', {
      name: 'ImageRepository default/podinfo',
    });
    const headings = screen
      .getAllByRole('heading', { level: 2 })
      .map(h => h.textContent);
    expect(headings).toEqual([
      'Versions',
      'Pending promotions',
      'Timeline',
      'Automation objects',
    ]);
    expect(
      await screen.findByText(
        'Nothing is waiting: every target carries what its policy selected.',
      ),
    ).toBeInTheDocument();
  });

  it('shows, section by section, that the backend cannot be reached', async () => {
    const api = fakeBackend();
    api.failLoadsWith(new Error('backend unavailable'));
    renderTab(api);
    for (const what of [
      'the automation objects',
      'the versions',
      'the pending promotions',
      'the timeline',
    ]) {
      expect(
        await screen.findByText(new RegExp(`^Could not load ${what}`), {
          selector: '*',
        }),
      ).toBeInTheDocument();
    }
    const summary = screen.getByRole('region', { name: 'Summary' });
    expect(within(summary).getAllByText(/unavailable/).length).toBeGreaterThan(
      0,
    );
  });

  it('names the permission a user lacks to read the tab, in every section', async () => {
    const api = fakeBackend();
    api.failLoadsWith(
      new NotAllowedError(
        'you may not read the image automation of component:default/podinfo (image-automation.object.read)',
      ),
    );
    renderTab(api);
    await waitFor(() =>
      expect(screen.getAllByRole('alert').length).toBeGreaterThanOrEqual(4),
    );
    for (const alert of screen.getAllByRole('alert')) {
      expect(alert).toHaveTextContent('(image-automation.object.read)');
    }
    expect(
      screen.queryByRole('button', { name: /^Reconcile ImageRepository/ }),
    ).not.toBeInTheDocument();
  });

  it('keeps the other sections when one fails', async () => {
    const api = fakeBackend();
    api.getVersions = async () => {
      throw new Error('versions are down');
    };
    renderTab(api);
    expect(
      await screen.findByText(/^Could not load the versions/),
    ).toBeInTheDocument();
    expect(
      await screen.findByRole('button', {
        name: 'ImagePolicy default/podinfo',
      }),
    ).toBeInTheDocument();
    expect(
      await screen.findByText(
        'Nothing is waiting: every target carries what its policy selected.',
      ),
    ).toBeInTheDocument();
    expect(
      screen.queryByText(/^Could not load the automation objects/),
    ).not.toBeInTheDocument();
  });

  it("reloads on the entity's signal, without waiting for the next poll, and says it is live", async () => {
    const api = fakeBackend();
    const signals = new TestSignals();
    renderTab(api, signals);
    const summary = await screen.findByRole('region', { name: 'Summary' });
    expect(await within(summary).findByText('Live')).toBeInTheDocument();
    await screen.findByRole('button', {
      name: 'ImageRepository default/podinfo',
    });
    expect(signals.channels()).toEqual([
      'image-automation:component:default/podinfo',
    ]);
    await waitFor(() => expect(api.countCalls('getEntityObjects')).toBe(1));

    api.addObject(objectView('GitRepository', 'fleet'));
    act(() =>
      signals.publish('image-automation:component:default/podinfo', {
        change: 'objects',
      }),
    );
    expect(
      await screen.findByRole('button', {
        name: 'GitRepository default/fleet',
      }),
    ).toBeInTheDocument();
    expect(api.countCalls('getEntityObjects')).toBe(2);
  });

  it('polls, and says so, when the app has no signals', async () => {
    const api = fakeBackend();
    renderTab(api);
    const summary = await screen.findByRole('region', { name: 'Summary' });
    expect(
      await within(summary).findByText(/Polling every 10 s/),
    ).toBeInTheDocument();
  });

  it('says so when the entity has no automation objects', async () => {
    const api = new FakeImageAutomationApi({
      user: 'user:default/guest',
      now: () => new Date(),
    });
    renderTab(api);
    expect(
      await screen.findByText(/No automation objects belong to this entity/),
    ).toBeInTheDocument();
  });
});
