import { canonicalJson } from '../util/canonicalJson';
import crypto from 'node:crypto';
import { planApplyStages } from './applyOrder';
import { AppliedVersions, InventoryStore } from '../store/InventoryStore';
import { resolveCopyFrom } from './copyFrom';
import { KubeClient } from './KubeClient';
import { KubernetesSettings } from './kubernetesSettings';
import {
  describeObject,
  inventoryEntry,
  inventoryId,
  versionOf,
} from './inventoryId';
import { pruneStale } from './prune';
import { ApplyError, ServerSideApplier } from './ServerSideApplier';
import {
  ChangeSetEntry,
  ClusterDetails,
  InventoryEntry,
  KubernetesObject,
} from './types';

/**
 * One apply of a set of objects into one cluster on behalf of an owner (a ResourceSet).
 * @internal
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
  /**
   * Once aborted (the reconcile lost its lease), nothing more is written to the cluster or the
   * inventory, and requests in flight are cancelled: the inventory keeps the `applying` union, so
   * the next run prunes against everything this one may have applied.
   */
  signal?: AbortSignal;
}

/**
 * What an apply did.
 * @internal
 */
export interface InventoryApplyResult {
  /** `sha256:` of the canonical JSON of all objects. */
  revision: string;
  changes: ChangeSetEntry[];
  inventory: InventoryEntry[];
  /** The changes of each step, in order (`changes` also holds the deletions of pruning). */
  steps: Array<{ name?: string; changes: ChangeSetEntry[] }>;
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

/** The versions to record after a complete apply: only when every object has one. */
function recordedVersions(
  key: string,
  objects: KubernetesObject[],
  applied: Map<string, string>,
): AppliedVersions | undefined {
  const versions: Record<string, string> = {};
  for (const o of objects) {
    const id = inventoryId(o);
    const version = applied.get(id);
    if (!version) return undefined;
    versions[id] = version;
  }
  return { key, versions };
}

function union(a: InventoryEntry[], b: InventoryEntry[]): InventoryEntry[] {
  const byId = new Map(a.map(e => [e.id, e]));
  for (const entry of b) {
    byId.set(entry.id, entry);
  }
  return [...byId.values()];
}

/** A connection to one API server as one identity, shared by the applies that run on it. */
interface Connection {
  client: Promise<KubeClient>;
  users: number;
  idle?: ReturnType<typeof setTimeout>;
}

/** How long an unused connection is kept open. */
const CONNECTION_IDLE_MS = 30_000;

/** Asks the API server for metadata only when listing: no Secret data, no specs to decode. */
const METADATA_LIST =
  'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json';

/**
 * Whether every object of an unchanged render still carries the `resourceVersion` the last complete
 * apply recorded: one LIST per kind and namespace (metadata only, narrowed to the owner's labels).
 * Any doubt — a version that moved (someone else wrote the object: drift), an object gone or no
 * longer carrying the owner labels, a kind that cannot be listed, an error — answers false, and the
 * caller goes through the full apply (dry runs), which corrects what drifted.
 */
async function stillAsApplied(
  client: KubeClient,
  objects: KubernetesObject[],
  recorded: Record<string, string>,
  ownerLabels: Record<string, string>,
): Promise<boolean> {
  const groups = new Map<string, KubernetesObject[]>();
  for (const o of objects) {
    if (!recorded[inventoryId(o)]) return false;
    const key = `${o.apiVersion}|${o.kind}|${o.metadata.namespace ?? ''}`;
    const members = groups.get(key);
    if (members) members.push(o);
    else groups.set(key, [o]);
  }
  const labelSelector = Object.entries(ownerLabels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  try {
    const answers = await Promise.all(
      [...groups.values()].map(async members => {
        const { apiVersion, kind } = members[0];
        const namespace = members[0].metadata.namespace;
        const { namespaced } = await client.resourceFor(apiVersion, kind);
        if (namespaced !== !!namespace) return false;
        const path = await client.pathOf({ apiVersion, kind, namespace });
        const versions = new Map<string, string | undefined>();
        let next: string | undefined;
        do {
          const page = await client.request<{
            items: Array<{
              metadata: { name: string; resourceVersion?: string };
            }>;
            metadata: { continue?: string };
          }>('GET', path, {
            query: {
              labelSelector: labelSelector || undefined,
              limit: '500',
              continue: next,
            },
            accept: METADATA_LIST,
          });
          for (const item of page.items ?? []) {
            versions.set(item.metadata.name, item.metadata.resourceVersion);
          }
          next = page.metadata?.continue || undefined;
        } while (next);
        return members.every(
          o => versions.get(o.metadata.name) === recorded[inventoryId(o)],
        );
      }),
    );
    return answers.every(Boolean);
  } catch {
    // Not listable (403/404/406), unreachable, …: the full apply decides, and reports errors itself.
    return false;
  }
}

/**
 * Applies sets of objects and keeps their inventory in the database, Flux Operator style: while a
 * run is in progress the stored inventory is the union of the previous and the new set (state
 * `applying`), so a run cut short — the API server gone, a conflict, a refusal — leaves nothing
 * applied unrecorded; the next run prunes against that union. Only a run that finished replaces the
 * inventory with the new set and records the revision (state `applied`).
 * @internal
 */
export class InventoryApplier {
  private readonly connections = new Map<string, Connection>();

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
    // The inventory lists each step's objects in apply order (stage, then kind, namespace, name),
    // as the Flux Operator records them from its change sets, not in render order.
    const desired = steps
      .flatMap(s => planApplyStages(s.objects).flatMap(stage => stage.objects))
      .map(inventoryEntry);
    const previous = await this.store.get(owner, cluster.name);
    const old = previous?.entries ?? [];
    const running = union(old, desired);
    const connection = await this.connect(
      cluster,
      request.serviceAccount
        ? `system:serviceaccount:${request.serviceAccount.namespace}:${request.serviceAccount.name}`
        : undefined,
      request.signal,
    );
    const client = connection.client;
    const force =
      this.settings.clusters.find(c => c.name === cluster.name)?.force ??
      this.settings.force;
    // What the recorded versions are only valid for: the same render applied the same way (field
    // manager, force, identity, re-creation) to the same API server.
    const applyKey = `sha256:${crypto
      .createHash('sha256')
      .update(
        canonicalJson({
          url: cluster.url,
          fieldManager: this.settings.fieldManager,
          force,
          serviceAccount: request.serviceAccount ?? null,
          recreateImmutable: !!request.recreateImmutable,
          ownerLabels: request.ownerLabels,
        }),
      )
      .digest('hex')}`;
    const applier = new ServerSideApplier(client, {
      fieldManager: this.settings.fieldManager,
      force,
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
      if (
        !request.dryRun &&
        (await this.unchanged(
          client,
          request,
          previous,
          applyKey,
          revision,
          all,
        ))
      ) {
        // Unchanged render, nothing drifted: no dry run, no write, the inventory stays as it is.
        const unchanged = (o: KubernetesObject): ChangeSetEntry => ({
          subject: describeObject(o),
          id: inventoryId(o),
          version: versionOf(o.apiVersion),
          action: 'unchanged',
        });
        const last = steps[steps.length - 1];
        if (request.wait && last) {
          await applier
            .waitForReady(
              last.objects,
              last.timeoutMs ?? request.timeoutMs ?? 5 * 60_000,
            )
            .catch(error => {
              throw new Error(
                `${
                  last.name ? `step "${last.name}": ` : ''
                }health check failed: ${error.message}`,
              );
            });
        }
        const stepResults = steps.map(step => ({
          name: step.name,
          changes: step.objects.map(unchanged),
        }));
        return {
          revision,
          changes: stepResults.flatMap(step => step.changes),
          inventory: desired,
          steps: stepResults,
        };
      }
      if (!request.dryRun) {
        request.signal?.throwIfAborted();
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
        request.signal?.throwIfAborted();
        await this.store.put({
          owner,
          cluster: cluster.name,
          entries: desired,
          state: 'applied',
          lastAppliedRevision: revision,
          appliedVersions: recordedVersions(
            applyKey,
            all,
            applier.appliedVersions,
          ),
        });
      }
      return { revision, changes, inventory: desired, steps: applied };
    } catch (error) {
      // Stopped: the inventory keeps the `applying` union for the next run to prune against.
      if (!request.dryRun && !request.signal?.aborted) {
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
      connection.release();
    }
  }

  /**
   * A client for one apply, on a connection kept between applies to the same API server with the
   * same credentials and identity (TLS session and discovery reused: an unchanged apply is a handful
   * of requests, a new connection each time would cost more than they do). The client itself carries
   * this apply's cluster details (write policy, grants). A connection unused for 30 s is closed.
   */
  private async connect(
    cluster: ClusterDetails,
    impersonateUser: string | undefined,
    signal?: AbortSignal,
  ): Promise<{ client: KubeClient; release: () => void }> {
    const key = crypto
      .createHash('sha256')
      .update(
        canonicalJson({
          url: cluster.url,
          caData: cluster.caData ?? null,
          skipTLSVerify: !!cluster.skipTLSVerify,
          auth: cluster.auth ?? null,
          impersonateUser: impersonateUser ?? null,
        }),
      )
      .digest('hex');
    let entry = this.connections.get(key);
    if (!entry) {
      const created: Connection = {
        client: KubeClient.forCluster(cluster, {
          impersonateUser,
          // Shared by the applies running at once (the engine runs several reconciles): each keeps
          // its own limit of `concurrency` requests in flight; the connection must not be narrower
          // than the sum, as separate connections were before.
          maxSockets: this.settings.concurrency * 8,
        }),
        users: 0,
      };
      created.client.catch(() => {
        if (this.connections.get(key) === created) this.connections.delete(key);
      });
      this.connections.set(key, created);
      entry = created;
    }
    const held = entry;
    held.users++;
    if (held.idle) clearTimeout(held.idle);
    held.idle = undefined;
    let base: KubeClient;
    try {
      base = await held.client;
    } catch (error) {
      held.users--;
      throw error;
    }
    let released = false;
    return {
      client: base.withDetails(cluster, signal),
      release: () => {
        if (released) return;
        released = true;
        held.users--;
        if (held.users > 0) return;
        held.idle = setTimeout(() => {
          if (held.users > 0) return;
          if (this.connections.get(key) === held) this.connections.delete(key);
          base.close();
        }, CONNECTION_IDLE_MS);
        held.idle.unref?.();
      },
    };
  }

  /**
   * Whether the last complete apply of the same render, made the same way, still stands in the
   * cluster: then nothing needs to be dry-run or written. Drift shows as a moved `resourceVersion`.
   */
  private async unchanged(
    client: KubeClient,
    request: InventoryApplyRequest,
    previous: Awaited<ReturnType<InventoryStore['get']>>,
    applyKey: string,
    revision: string,
    objects: KubernetesObject[],
  ): Promise<boolean> {
    const recorded = previous?.appliedVersions;
    if (
      !previous ||
      !recorded ||
      previous.state !== 'applied' ||
      previous.lastAppliedRevision !== revision ||
      recorded.key !== applyKey ||
      objects.length === 0
    ) {
      return false;
    }
    // The same revision renders the same objects; the inventory must hold exactly them (nothing left
    // to prune), and each id once.
    const ids = new Set(objects.map(inventoryId));
    if (
      ids.size !== objects.length ||
      previous.entries.length !== ids.size ||
      previous.entries.some(e => !ids.has(e.id))
    ) {
      return false;
    }
    return stillAsApplied(
      client,
      objects,
      recorded.versions,
      request.ownerLabels,
    );
  }

  /**
   * Garbage-collects everything in the inventory of `owner` in `cluster` (the owner was deleted)
   * and forgets the inventory once that succeeded.
   */
  async uninstall(
    request: Pick<
      InventoryApplyRequest,
      'owner' | 'cluster' | 'ownerLabels' | 'serviceAccount' | 'signal'
    >,
  ): Promise<ChangeSetEntry[]> {
    const previous = await this.store.get(request.owner, request.cluster.name);
    if (!previous) {
      return [];
    }
    const base = await KubeClient.forCluster(request.cluster, {
      impersonateUser: request.serviceAccount
        ? `system:serviceaccount:${request.serviceAccount.namespace}:${request.serviceAccount.name}`
        : undefined,
    });
    const client = base.withDetails(request.cluster, request.signal);
    try {
      const changes = await pruneStale(client, previous.entries, {
        ownerLabels: request.ownerLabels,
      });
      request.signal?.throwIfAborted();
      await this.store.delete(request.owner, request.cluster.name);
      return changes;
    } finally {
      client.close();
    }
  }
}
