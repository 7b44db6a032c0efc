import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  entitySignalChannel,
  FLEET_SIGNAL_CHANNEL,
} from '@imageops/backstage-plugin-image-automation-common';
import { startPostgres, TestPostgres } from '../../testbed';
import { RunningApp, startApp } from '../browser/startApp';

jest.setTimeout(400_000);

const ENTITY = 'component:default/shop';
const OBJECT = 'objects/ImageRepository/apps/shop';

const catalog = `
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: shop
  annotations:
    image-automation.io/manifests: ./shop.yaml
spec: { type: service, lifecycle: production, owner: guests }
`;

// Not an allowed registry: each scan fails at once, without any network.
const manifests = `
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata: { name: shop, namespace: apps }
spec: { image: registry.invalid/team/shop, interval: 1h }
`;

interface Frame {
  channel: string;
  message: Record<string, unknown>;
}

/** A WebSocket to `/api/signals` once open, else undefined (closed). */
async function openSignals(app: RunningApp): Promise<WebSocket | undefined> {
  const ws = new WebSocket(
    `${app.baseUrl.replace(/^http/, 'ws')}/api/signals`,
    await app.guestToken(),
  );
  const opened = await new Promise<boolean>(resolve => {
    const done = (open: boolean) => {
      clearTimeout(timer);
      resolve(open);
    };
    const timer = setTimeout(() => done(false), 5000);
    ws.addEventListener('open', () => done(true), { once: true });
    ws.addEventListener('error', () => done(false), { once: true });
  });
  if (!opened) ws.close();
  return opened ? ws : undefined;
}

/**
 * A browser's signals connection, as the signals frontend plugin opens it: a WebSocket (Node's,
 * the browser's API) to `/api/signals` with the user's token as its protocol, tried again until
 * it opens (the backend only starts taking WebSocket upgrades after the first one).
 */
async function connectSignals(app: RunningApp, channels: string[]) {
  const frames: Frame[] = [];
  const ws = await until(
    'a signals connection',
    () => openSignals(app),
    60_000,
  );
  ws.addEventListener('message', event =>
    frames.push(JSON.parse(String(event.data))),
  );
  for (const channel of channels)
    ws.send(JSON.stringify({ action: 'subscribe', channel }));
  return { ws, frames };
}

async function api(app: RunningApp, route: string, method = 'GET') {
  const res = await fetch(`${app.baseUrl}/api/image-automation/${route}`, {
    method,
    headers: { Authorization: `Bearer ${await app.guestToken()}` },
  });
  if (!res.ok)
    throw new Error(`${method} ${route}: ${res.status} ${await res.text()}`);
  return res.json();
}

async function until<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await Promise.resolve()
      .then(check)
      .catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise(resolve => setTimeout(resolve, 250));
  }
}

describe('signals across two backend replicas sharing one PostgreSQL', () => {
  let postgres: TestPostgres | undefined;
  let shared: string | undefined;
  const apps: RunningApp[] = [];
  let socket: WebSocket | undefined;

  afterAll(async () => {
    socket?.close();
    for (const app of apps.reverse()) await app.stop();
    await postgres?.stop();
    if (shared) await fs.rm(shared, { recursive: true, force: true });
  });

  it('delivers a change made through replica A to a browser connected to replica B', async () => {
    postgres = await startPostgres();
    // One catalog and one manifest for both replicas, as in a deployment.
    shared = await fs.mkdtemp(path.join(os.tmpdir(), 'signals-replicas-'));
    await fs.writeFile(path.join(shared, 'catalog.yaml'), catalog);
    await fs.writeFile(path.join(shared, 'shop.yaml'), manifests);
    const replica = async (engine: Record<string, number>) => {
      const app = await startApp({
        files: {},
        database: { client: 'pg', connection: postgres!.connectionString },
        config: {
          fileRoots: [shared],
          allowedRegistries: ['registry.example.com'],
          engine,
        },
        topLevelConfig: {
          catalog: {
            locations: [
              { type: 'file', target: path.join(shared!, 'catalog.yaml') },
            ],
          },
        },
      });
      apps.push(app);
      return app;
    };
    // One after the other: the first creates the databases. B runs no reconcile passes (a batch
    // of 0), so nothing it sends its browsers can have started on B: it came over the bus.
    const a = await replica({
      pollIntervalSeconds: 1,
      refreshIntervalSeconds: 2,
    });
    const b = await replica({
      pollIntervalSeconds: 1,
      refreshIntervalSeconds: 2,
      batchSize: 0,
    });

    await until('A to reconcile the repository', async () => {
      const view = await api(a, OBJECT);
      return view.status?.conditions?.length ? view : undefined;
    });

    const entityChannel = entitySignalChannel(ENTITY);
    const { ws, frames } = await connectSignals(b, [
      entityChannel,
      FLEET_SIGNAL_CHANNEL,
    ]);
    socket = ws;
    // The subscriptions are messages on the socket: let B take them before the change is made.
    await new Promise(resolve => setTimeout(resolve, 1000));

    const suspended = await api(a, `${OBJECT}/suspend`, 'POST');
    expect(suspended.suspended).toBe(true);

    const expected = { change: 'objects', entityRef: ENTITY };
    await until(
      'the signal at B',
      () =>
        frames.some(f => f.channel === entityChannel) &&
        frames.some(f => f.channel === FLEET_SIGNAL_CHANNEL)
          ? true
          : undefined,
      20_000,
    );
    expect(frames).toContainEqual({
      channel: entityChannel,
      message: expected,
    });
    expect(frames).toContainEqual({
      channel: FLEET_SIGNAL_CHANNEL,
      message: expected,
    });
    // Only what changed and where, never a value (a status, a tag, a secret).
    for (const frame of frames) {
      expect([entityChannel, FLEET_SIGNAL_CHANNEL]).toContain(frame.channel);
      expect(
        Object.keys(frame.message).filter(
          key => key !== 'change' && key !== 'entityRef',
        ),
      ).toEqual([]);
      expect(['objects', 'scans', 'promotions']).toContain(
        frame.message.change,
      );
    }
  });
});
