import os from 'node:os';
import { request } from '../httpRequest';

/**
 * Reuse of the test bed's API server across runs of a suite in one process, for mutation testing
 * only (`scripts/mutation.sh` sets `TESTBED_KUBE_REUSE=1`). Stryker runs the suites that cover a
 * mutant once per mutant, in the same jest worker; starting etcd, the API server and the Flux CRDs
 * in every run would make a module of these suites take most of a day.
 *
 * With it, `stop()` leaves the API server running and idle; the next `startKubernetes()` in the
 * same process takes it back in the state it had right after start-up: every etcd key written
 * since is put back (or deleted when it is new) and the audit log is emptied. The processes still
 * end with the worker (`spawnTracked`). jest gives each run fresh modules, so the idle servers are
 * kept on a Node core module object, which is the same in every run of the process.
 */
export const KUBE_REUSE = process.env.TESTBED_KUBE_REUSE === '1';

/** One etcd key's value at start-up. */
interface Stored {
  value: string;
  modRevision: string;
}

/** An API server kept for reuse. */
export interface Reusable<T> {
  kube: T;
  etcdUrl: string;
  /** Every key under /registry right after start-up (base64 key → value). */
  startup: Map<string, Stored>;
  inUse: boolean;
  /** Whether the API server still answers (a suite may have killed it). */
  ready(): Promise<boolean>;
  /** Stops it for good. */
  stop(): Promise<void>;
}

const POOL = Symbol.for('image-automation.testbed.kubernetes.reusable');

export function reusePool<T>(): Array<Reusable<T>> {
  const holder = os as unknown as Record<symbol, Array<Reusable<T>>>;
  holder[POOL] ??= [];
  return holder[POOL];
}

const b64 = (text: string) => Buffer.from(text).toString('base64');

async function etcd(etcdUrl: string, call: string, body: object): Promise<any> {
  const response = await request(`${etcdUrl}/v3/${call}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (response.status !== 200) {
    throw new Error(
      `etcd ${call}: HTTP ${response.status} ${response.body.toString()}`,
    );
  }
  return JSON.parse(response.body.toString());
}

/** Every key under /registry with its value and revision. */
export async function registryKeys(
  etcdUrl: string,
): Promise<Map<string, Stored>> {
  const answer = await etcd(etcdUrl, 'kv/range', {
    key: b64('/registry/'),
    range_end: b64('/registry0'),
  });
  const keys = new Map<string, Stored>();
  for (const kv of answer.kvs ?? []) {
    keys.set(kv.key, { value: kv.value ?? '', modRevision: kv.mod_revision });
  }
  return keys;
}

/**
 * Puts etcd back as it was at start-up: keys written since are deleted, start-up keys changed or
 * deleted since are written back. Leases (the API server's own heartbeats) are left alone.
 */
export async function resetToStartup<T>(server: Reusable<T>): Promise<void> {
  const now = await registryKeys(server.etcdUrl);
  const isLease = (key: string) =>
    Buffer.from(key, 'base64').toString().startsWith('/registry/leases/');
  for (const key of now.keys()) {
    if (!server.startup.has(key) && !isLease(key))
      await etcd(server.etcdUrl, 'kv/deleterange', { key });
  }
  for (const [key, stored] of server.startup) {
    if (isLease(key)) continue;
    if (now.get(key)?.modRevision === stored.modRevision) continue;
    const put = await etcd(server.etcdUrl, 'kv/put', {
      key,
      value: stored.value,
    });
    // Written back: unchanged from now on until a suite changes it again.
    stored.modRevision = put.header.revision;
  }
}
