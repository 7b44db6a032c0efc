import crypto from 'node:crypto';
import { InventoryStore } from '../store/InventoryStore';
import { dependencyRefusal } from './clusterWritePolicy';
import { resolveCopyFrom } from './copyFrom';
import { KubeClient } from './KubeClient';
import { KubernetesSettings } from './kubernetesSettings';
import { inventoryEntry } from './objectId';
import { pruneStale } from './prune';
import { readObjectReadiness } from './readiness';
import { ApplyError, ServerSideApplier } from './ServerSideApplier';
import {
  ChangeSetEntry,
  ClusterDetails,
  InventoryEntry,
  KubernetesObject,
} from './types';

/**
 * One apply of a set of objects into one cluster on behalf of an owner (a ResourceSet).
 * @public
 */
export interface InventoryApplyRequest {
  /** The applying object, e.g. `ResourceSet/<namespace>/<name>`; the inventory key with the cluster. */
  owner: string;
  cluster: ClusterDetails;
  /**
   * The objects, in steps applied one after the other (a set without steps is one step). A step's
   * `timeoutMs` (Flux's `steps[].timeout`) bounds the wait for it instead of `timeoutMs`.
   */
  steps: Array<{
    name?: string;
    objects: KubernetesObject[];
    timeoutMs?: number;
  }>;
  /**
   * Called before each step is applied (not in a dry run), so the owner can say which step runs:
   * Flux's `Applying step <i>/<n> "<name>"`. `index` counts from 1.
   */
  onStep?: (step: {
    index: number;
    total: number;
    name?: string;
  }) => void | Promise<void>;
  /** Labels set on every object and required on every object that is pruned. */
  ownerLabels: Record<string, string>;
  /** Impersonate `system:serviceaccount:<namespace>:<serviceAccountName>` (the ResourceSet's `spec.serviceAccountName`). */
  serviceAccount?: { namespace: string; name: string };
  /** Delete objects that left the set (default true). */
  prune?: boolean;
  /** Wait for the objects of every step but the last, and with `wait` the last one too (default false). */
  wait?: boolean;
  /** How long each waited-for step may take (default 5 min, Flux's `reconcileTimeout`). */
  timeoutMs?: number;
  /** Compute the change set only: nothing is written to the cluster or the inventory. */
  dryRun?: boolean;
  /** Re-create objects on immutable-field changes (the ResourceSet has `fluxcd.controlplane.io/force: enabled`). */
  recreateImmutable?: boolean;
}

/**
 * What an apply did.
 * @public
 */
export interface InventoryApplyResult {
  /** `sha256:` of the canonical JSON of all objects. */
  revision: string;
  changes: ChangeSetEntry[];
  inventory: InventoryEntry[];
  /** The changes of each step, in order (`changes` also holds the deletions of pruning). */
  steps: Array<{ name?: string; changes: ChangeSetEntry[] }>;
}

function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        )
      : v,
  );
}

function withLabels(
  object: KubernetesObject,
  labels: Record<string, string>,
): KubernetesObject {
  return {
    ...object,
    metadata: {
      ...object.metadata,
      labels: { ...object.metadata.labels, ...labels },
    },
  };
}

function union(a: InventoryEntry[], b: InventoryEntry[]): InventoryEntry[] {
  const byId = new Map(a.map(e => [e.id, e]));
  for (const entry of b) {
    byId.set(entry.id, entry);
  }
  return [...byId.values()];
}

/**
 * Applies sets of objects and keeps their inventory in the database, Flux Operator style: while a
 * run is in progress the stored inventory is the union of the previous and the new set (state
 * `applying`), so a run cut short — the API server gone, a conflict, a refusal — leaves nothing
 * applied unrecorded; the next run prunes against that union. Only a run that finished replaces the
 * inventory with the new set and records the revision (state `applied`).
 * @public
 */
export class InventoryApplier {
  constructor(
    private readonly store: InventoryStore,
    private readonly settings: Pick<
      KubernetesSettings,
      'fieldManager' | 'force' | 'concurrency' | 'clusters'
    >,
  ) {}

  async apply(request: InventoryApplyRequest): Promise<InventoryApplyResult> {
    const { owner, cluster } = request;
    const steps = request.steps.map(s => ({
      ...s,
      objects: s.objects.map(o => withLabels(o, request.ownerLabels)),
    }));
    const all = steps.flatMap(s => s.objects);
    const desired = all.map(inventoryEntry);
    const previous = await this.store.get(owner, cluster.name);
    const old = previous?.entries ?? [];
    const running = union(old, desired);
    const client = await KubeClient.forCluster(cluster, {
      impersonateUser: request.serviceAccount
        ? `system:serviceaccount:${request.serviceAccount.namespace}:${request.serviceAccount.name}`
        : undefined,
      maxSockets: this.settings.concurrency,
    });
    const applier = new ServerSideApplier(client, {
      fieldManager: this.settings.fieldManager,
      force:
        this.settings.clusters.find(c => c.name === cluster.name)?.force ??
        this.settings.force,
      dryRun: request.dryRun,
      recreateImmutable: request.recreateImmutable,
      ownerLabels: request.ownerLabels,
      concurrency: this.settings.concurrency,
    });
    const changes: ChangeSetEntry[] = [];
    const applied: InventoryApplyResult['steps'] = [];
    try {
      // Refuse the whole set before writing anything, so a refusal never leaves half a set applied.
      const refusals = await applier.checkWritePolicy(all);
      if (refusals.length > 0) {
        throw new ApplyError(
          [],
          refusals.map(r => new Error(r)),
        );
      }
      // Copied data is part of what is applied, so of the revision: a changed source is a new revision.
      for (const step of steps) {
        step.objects = await resolveCopyFrom(client, step.objects);
      }
      const revision = `sha256:${crypto
        .createHash('sha256')
        .update(canonicalJson(steps.flatMap(s => s.objects)))
        .digest('hex')}`;
      if (!request.dryRun) {
        await this.store.put({
          owner,
          cluster: cluster.name,
          entries: running,
          state: 'applying',
          lastAppliedRevision: previous?.lastAppliedRevision,
        });
      }
      const timeoutMs = request.timeoutMs ?? 5 * 60_000;
      for (const [index, step] of steps.entries()) {
        if (!request.dryRun) {
          await request.onStep?.({
            index: index + 1,
            total: steps.length,
            name: step.name,
          });
        }
        const stepChanges = await applier
          .applyAllStaged(step.objects)
          .catch(error => {
            if (error instanceof ApplyError) {
              changes.push(...error.changes);
            }
            throw error;
          });
        changes.push(...stepChanges);
        applied.push({ name: step.name, changes: stepChanges });
        const last = index === steps.length - 1;
        if (!request.dryRun && (!last || request.wait)) {
          const changed = new Set(
            stepChanges.filter(c => c.action !== 'unchanged').map(c => c.id),
          );
          const toWait =
            request.wait && last
              ? step.objects
              : step.objects.filter(o => changed.has(inventoryEntry(o).id));
          await applier
            .waitForReady(toWait, step.timeoutMs ?? timeoutMs)
            .catch(error => {
              throw new Error(
                `${
                  step.name ? `step "${step.name}": ` : ''
                }health check failed: ${error.message}`,
              );
            });
        }
      }
      if (request.prune ?? true) {
        const desiredIds = new Set(desired.map(e => e.id));
        const stale = old.filter(e => !desiredIds.has(e.id));
        changes.push(
          ...(await pruneStale(client, stale, {
            ownerLabels: request.ownerLabels,
            dryRun: request.dryRun,
          })),
        );
      }
      if (!request.dryRun) {
        await this.store.put({
          owner,
          cluster: cluster.name,
          entries: desired,
          state: 'applied',
          lastAppliedRevision: revision,
        });
      }
      return { revision, changes, inventory: desired, steps: applied };
    } catch (error) {
      if (!request.dryRun) {
        await this.store.put({
          owner,
          cluster: cluster.name,
          entries: running,
          state: 'failed',
          lastAppliedRevision: previous?.lastAppliedRevision,
          message: (error as Error).message,
        });
      }
      throw error;
    } finally {
      client.close();
    }
  }

  /**
   * Garbage-collects everything in the inventory of `owner` in `cluster` (the owner was deleted)
   * and forgets the inventory once that succeeded.
   */
  async uninstall(
    request: Pick<
      InventoryApplyRequest,
      'owner' | 'cluster' | 'ownerLabels' | 'serviceAccount'
    >,
  ): Promise<ChangeSetEntry[]> {
    const previous = await this.store.get(request.owner, request.cluster.name);
    if (!previous) {
      return [];
    }
    const client = await KubeClient.forCluster(request.cluster, {
      impersonateUser: request.serviceAccount
        ? `system:serviceaccount:${request.serviceAccount.namespace}:${request.serviceAccount.name}`
        : undefined,
    });
    try {
      const changes = await pruneStale(client, previous.entries, {
        ownerLabels: request.ownerLabels,
      });
      await this.store.delete(request.owner, request.cluster.name);
      return changes;
    } finally {
      client.close();
    }
  }
}

/**
 * Reads the readiness of `dependsOn` targets in one cluster: each must exist, and when `ready` is
 * asked for, be `Current` (kstatus-like). Returns the first reason a dependency is not ready; a
 * target the cluster's policy does not cover (or a Secret) is refused without being read.
 * @public
 */
export async function checkDependencies(
  client: KubeClient,
  dependsOn: Array<{
    apiVersion: string;
    kind: string;
    name: string;
    namespace?: string;
    ready?: boolean;
  }>,
): Promise<string | undefined> {
  for (const dep of dependsOn) {
    const ref = `${dep.apiVersion}/${dep.kind}/${dep.namespace ?? ''}/${
      dep.name
    }`.replace('//', '/');
    const refusal = await dependencyRefusal(client, dep);
    if (refusal) {
      return `dependency ${ref} refused: ${refusal}`;
    }
    const object = await client.get(dep);
    if (!object) {
      return `dependency ${ref} not found`;
    }
    if (dep.ready) {
      const readiness = readObjectReadiness(object);
      if (readiness.status !== 'Current') {
        return `dependency ${ref} not ready: ${readiness.message}`;
      }
    }
  }
  return undefined;
}
