import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../freePort';
import { request } from '../httpRequest';
import {
  spawnTracked,
  trackDirectory,
  TrackedProcess,
  waitUntil,
} from '../processes';
import { ensureKubernetesBinaries } from './kubernetes';
import { registryKeys, resetToStartup, Reusable, reusePool } from './reuse';

// The reset a reused API server gets between mutation runs (reuse.ts), against a real etcd: if it
// left a suite's objects behind, the next run would fail for that alone and count the mutant as
// killed.

const b64 = (text: string) => Buffer.from(text).toString('base64');

describe('reusing the test bed API server', () => {
  let etcd: TrackedProcess;
  let etcdUrl: string;
  let removeDir: () => Promise<void>;
  beforeAll(async () => {
    const binaries = await ensureKubernetesBinaries();
    const [clientPort, peerPort] = [await freePort(), await freePort()];
    etcdUrl = `http://127.0.0.1:${clientPort}`;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'testbed-reuse-etcd-'));
    removeDir = trackDirectory(dir);
    etcd = spawnTracked(binaries.etcd, [
      '--name=reuse',
      `--data-dir=${dir}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=http://127.0.0.1:${peerPort}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`,
      `--initial-cluster=reuse=http://127.0.0.1:${peerPort}`,
      '--unsafe-no-fsync',
      '--log-level=error',
    ]);
    await waitUntil(
      async () =>
        (
          await request(`${etcdUrl}/health`).catch(() => ({ status: 0 }))
        ).status === 200,
      { timeoutMs: 30_000, what: 'etcd', describe: () => etcd.output() },
    );
    await request(`${etcdUrl}/v3/kv/deleterange`, {
      method: 'POST',
      body: JSON.stringify({ key: b64('/'), range_end: b64('0') }),
    });
  });
  afterAll(async () => {
    await etcd?.stop('SIGKILL');
    await removeDir?.();
  });

  const put = (key: string, value: string) =>
    request(`${etcdUrl}/v3/kv/put`, {
      method: 'POST',
      body: JSON.stringify({ key: b64(key), value: b64(value) }),
    });
  const remove = (key: string) =>
    request(`${etcdUrl}/v3/kv/deleterange`, {
      method: 'POST',
      body: JSON.stringify({ key: b64(key) }),
    });
  const contents = async () =>
    Object.fromEntries(
      [...(await registryKeys(etcdUrl))].map(([key, stored]) => [
        Buffer.from(key, 'base64').toString(),
        Buffer.from(stored.value, 'base64').toString(),
      ]),
    );

  it('puts back the state at start-up: new keys deleted, changed and deleted ones written back, leases left alone', async () => {
    await put('/registry/namespaces/team-a', 'team-a');
    await put('/registry/configmaps/team-a/settings', 'v1');
    await put('/registry/leases/kube-system/apiserver', 'renewed 1');
    const server: Reusable<string> = {
      kube: 'kube',
      etcdUrl,
      startup: await registryKeys(etcdUrl),
      inUse: false,
      ready: async () => true,
      stop: async () => undefined,
    };
    expect(server.startup.size).toBe(3);

    // What a suite leaves behind.
    await put('/registry/namespaces/rset-a', 'rset-a');
    await put('/registry/configmaps/rset-a/app', 'x');
    await put('/registry/configmaps/team-a/settings', 'v2');
    await remove('/registry/namespaces/team-a');
    await put('/registry/leases/kube-system/apiserver', 'renewed 2');
    await put('/registry/leases/kube-system/other', 'new lease');

    await resetToStartup(server);
    const reset = {
      '/registry/namespaces/team-a': 'team-a',
      '/registry/configmaps/team-a/settings': 'v1',
      '/registry/leases/kube-system/apiserver': 'renewed 2',
      '/registry/leases/kube-system/other': 'new lease',
    };
    expect(await contents()).toEqual(reset);

    // Reset again with nothing changed: nothing is written.
    const before = await registryKeys(etcdUrl);
    await resetToStartup(server);
    expect(await registryKeys(etcdUrl)).toEqual(before);

    // Changed once more after being written back: written back again.
    await put('/registry/configmaps/team-a/settings', 'v3');
    await resetToStartup(server);
    expect(await contents()).toEqual(reset);
  });

  it('keeps idle servers where every run of the process finds them', () => {
    let first: unknown[] = [];
    let second: unknown[] = [];
    jest.isolateModules(() => {
      first = require('./reuse').reusePool();
    });
    jest.isolateModules(() => {
      second = require('./reuse').reusePool();
    });
    expect(first).toBe(second);
    expect(reusePool()).toBe(first);
  });
});
