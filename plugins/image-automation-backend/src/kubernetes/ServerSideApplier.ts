import { OBJECT_ANNOTATIONS } from '@imageops/backstage-plugin-image-automation-common';
import { canonicalJson } from '../util/canonicalJson';
import { mapLimitSettled } from '../util/mapLimit';
import { planApplyStages } from './applyOrder';
import { scopeOf, writeRefusal } from './clusterWritePolicy';
import {
  ApplyConflictError,
  KubeApiError,
  parseConflictCauses,
} from './errors';
import { KubeClient } from './KubeClient';
import { objectDiff } from './objectDiff';
import { describeObject, groupOf, inventoryId, versionOf } from './inventoryId';
import { readObjectReadiness } from './readiness';
import { ChangeSetEntry, KubernetesObject } from './types';

/**
 * Annotation by which an object (or a ResourceSet, for all its objects) asks to be deleted and
 * re-created when a change touches an immutable field.
 * @internal
 */
export const ANNOTATION_FORCE = OBJECT_ANNOTATIONS.force;

/**
 * Annotation by which a `batch/v1` Job asks to be deleted and re-created when it has failed, so that
 * the next apply runs it again (a Job's pod template is immutable, and a failed Job never retries).
 * @internal
 */
export const ANNOTATION_RECREATE_ON_FAILURE =
  'fluxcd.controlplane.io/recreateOnFailure';

/** A Job whose `Failed` condition is `True`. */
function hasFailed(object: KubernetesObject): boolean {
  const conditions = (object.status as { conditions?: unknown[] } | undefined)
    ?.conditions;
  return (conditions ?? []).some(
    c =>
      (c as { type?: string }).type === 'Failed' &&
      (c as { status?: string }).status === 'True',
  );
}

/**
 * Options of {@link ServerSideApplier}.
 * @internal
 */
export interface ServerSideApplyOptions {
  /** Field manager of every apply (default setting: `image-automation`). */
  fieldManager: string;
  /** Take over fields owned by other managers; only when configured. */
  force: boolean;
  /** Compute the change set without writing anything. */
  dryRun?: boolean;
  /**
   * Delete and re-create objects whose change touches an immutable field (the ResourceSet's
   * `fluxcd.controlplane.io/force: enabled`); objects can ask for it with the same annotation.
   */
  recreateImmutable?: boolean;
  /**
   * Labels that mark an object in the cluster as applied by this owner: a failed Job is only
   * re-created (`fluxcd.controlplane.io/recreateOnFailure: enabled`) when it carries all of them.
   */
  ownerLabels?: Record<string, string>;
  /** Requests in flight at once within a stage (default 8). */
  concurrency?: number;
  /** How long a waited-for stage (CRDs, Namespaces, classes) may take to become ready (default 60 s). */
  stageTimeoutMs?: number;
}

/**
 * Applying stopped at an object; `changes` holds what had been applied before, so the caller can
 * record it (nothing applied may be forgotten by the inventory).
 * @internal
 */
export class ApplyError extends Error {
  readonly name = 'ApplyError';
  constructor(readonly changes: ChangeSetEntry[], readonly errors: Error[]) {
    // Parallel requests to an API server that went away all fail the same way: say it once.
    super([...new Set(errors.map(e => e.message))].join('\n'), {
      cause: errors[0],
    });
  }
}

/** Fields that change on every write or describe the write itself, not the object's content. */
function comparable(object: KubernetesObject): unknown {
  const {
    managedFields: _m,
    resourceVersion: _r,
    ...metadata
  } = object.metadata as Record<string, unknown>;
  return { ...object, metadata };
}

/**
 * Server-side apply of a set of objects into one cluster, Flux style: staged (definitions, classes,
 * roles, the rest), each object compared first with a dry-run apply so that an unchanged object is
 * not written at all, and the outcome reported per object as created / configured / unchanged.
 * @internal
 */
export class ServerSideApplier {
  /**
   * The `resourceVersion` each object had right after this applier wrote it or found it unchanged
   * (by inventory id; not in dry runs), for {@link InventoryApplier} to record.
   */
  readonly appliedVersions = new Map<string, string>();

  constructor(
    private readonly client: KubeClient,
    private readonly options: ServerSideApplyOptions,
  ) {}

  /**
   * Refusals of the cluster's write policy, for all objects at once (nothing is applied if any).
   * Whether an object is namespaced comes from the API server's discovery, never from its manifest;
   * a kind the cluster does not serve yet takes the scope of a CustomResourceDefinition of the same
   * set (itself checked as a cluster-scoped kind), and is checked again by discovery just before it
   * is written ({@link ServerSideApplier.applyOne}).
   */
  async checkWritePolicy(objects: KubernetesObject[]): Promise<string[]> {
    const { writePolicy, name } = this.client.cluster;
    const definedScopes = new Map<string, boolean>();
    for (const o of objects) {
      if (o.kind === 'CustomResourceDefinition') {
        const spec = (o.spec ?? {}) as {
          group?: string;
          scope?: string;
          names?: { kind?: string };
        };
        definedScopes.set(
          `${spec.group}/${spec.names?.kind}`,
          spec.scope === 'Namespaced',
        );
      }
    }
    const refusals: string[] = [];
    for (const o of objects) {
      const namespaced =
        (await scopeOf(this.client, o.apiVersion, o.kind)) ??
        definedScopes.get(`${groupOf(o.apiVersion)}/${o.kind}`);
      if (namespaced === undefined) {
        // Unknown kind: applying it fails with "no matches for kind"; nothing to refuse here.
        continue;
      }
      const refusal = writeRefusal(o, writePolicy, name, namespaced);
      if (refusal) {
        refusals.push(refusal);
      }
    }
    return refusals;
  }

  /**
   * Applies (or dry-runs) all objects in Flux's staged order and returns the change set in apply order.
   * Throws {@link ApplyError} (carrying the changes made so far) when an object fails.
   */
  async applyAllStaged(objects: KubernetesObject[]): Promise<ChangeSetEntry[]> {
    const refusals = await this.checkWritePolicy(objects);
    if (refusals.length > 0) {
      throw new ApplyError(
        [],
        refusals.map(r => new Error(r)),
      );
    }
    const changes: ChangeSetEntry[] = [];
    const definedKinds = new Set(
      objects
        .filter(o => o.kind === 'CustomResourceDefinition')
        .map(o => `${(o.spec as any)?.group}/${(o.spec as any)?.names?.kind}`),
    );
    for (const stage of planApplyStages(objects)) {
      const known = await this.readExisting(stage.objects);
      const results = await mapLimitSettled(
        stage.objects,
        this.options.concurrency ?? 8,
        o => this.applyOne(o, definedKinds, known.get(inventoryId(o))),
      );
      const errors: Error[] = [];
      results.forEach(r =>
        r.status === 'fulfilled'
          ? changes.push(r.value)
          : errors.push(r.reason),
      );
      if (errors.length > 0) {
        throw new ApplyError(changes, errors);
      }
      if (stage.wait && !this.options.dryRun) {
        await this.waitForReady(
          stage.objects,
          this.options.stageTimeoutMs ?? 60_000,
        ).catch(error => {
          throw new ApplyError(changes, [error]);
        });
      }
    }
    return changes;
  }

  /**
   * Reads the current state of objects that share a kind and namespace with one LIST per group instead
   * of one GET per object, halving the requests of a large apply. `null` = known not to exist. Groups
   * the credential may not list (or whose kind does not exist yet) are left out: their objects are read
   * one by one.
   */
  private async readExisting(
    objects: KubernetesObject[],
  ): Promise<Map<string, KubernetesObject | null>> {
    const groups = new Map<string, KubernetesObject[]>();
    for (const o of objects) {
      const key = `${o.apiVersion}|${o.kind}|${o.metadata.namespace ?? ''}`;
      groups.set(key, [...(groups.get(key) ?? []), o]);
    }
    const known = new Map<string, KubernetesObject | null>();
    for (const members of groups.values()) {
      if (members.length < 2) {
        continue;
      }
      const { apiVersion, kind } = members[0];
      const namespace = members[0].metadata.namespace;
      const byName = new Map<string, KubernetesObject>();
      try {
        if (
          (await this.client.resourceFor(apiVersion, kind)).namespaced &&
          !namespace
        ) {
          // Namespaced objects without a namespace fail on their own; listing all namespaces would not help.
          continue;
        }
        const path = await this.client.pathOf({ apiVersion, kind, namespace });
        let next: string | undefined;
        do {
          const page = await this.client.request<{
            items: KubernetesObject[];
            metadata: { continue?: string };
          }>('GET', path, {
            query: { limit: '500', continue: next },
          });
          // List items come without apiVersion and kind; the comparison with a dry run needs them.
          page.items.forEach(item =>
            byName.set(item.metadata.name, { ...item, apiVersion, kind }),
          );
          next = page.metadata.continue || undefined;
        } while (next);
      } catch (error) {
        if (
          error instanceof KubeApiError &&
          [403, 404, 405].includes(error.statusCode)
        ) {
          continue;
        }
        throw error;
      }
      for (const o of members) {
        known.set(inventoryId(o), byName.get(o.metadata.name) ?? null);
      }
    }
    return known;
  }

  /** Remembers the version an apply left (nothing in a dry run or without an answer). */
  private remember(
    object: KubernetesObject,
    result: KubernetesObject | undefined,
  ) {
    const version = result?.metadata?.resourceVersion;
    if (!this.options.dryRun && typeof version === 'string' && version) {
      this.appliedVersions.set(inventoryId(object), version);
    }
  }

  /**
   * Applies one object (see {@link ServerSideApplier.applyAllStaged}); `known` is its current state
   * when already read (`null`: it does not exist).
   */
  async applyOne(
    object: KubernetesObject,
    kindsDefinedInSet: Set<string> = new Set(),
    known?: KubernetesObject | null,
  ): Promise<ChangeSetEntry> {
    const subject = describeObject(object);
    const entry = (action: ChangeSetEntry['action']): ChangeSetEntry => ({
      subject,
      id: inventoryId(object),
      version: versionOf(object.apiVersion),
      action,
    });
    let path: string;
    try {
      path = await this.client.pathOf({ ...object, ...object.metadata });
    } catch (error) {
      // In a dry run, custom resources of a CRD in the same set cannot be checked before the CRD exists.
      if (
        this.options.dryRun &&
        kindsDefinedInSet.has(`${groupOf(object.apiVersion)}/${object.kind}`)
      ) {
        return entry('created');
      }
      throw this.explain(subject, error);
    }
    // Checked again here, with the scope discovery reports now (a CRD of the set may have just
    // been applied): nothing is written that the cluster's policy does not allow.
    const { namespaced } = await this.client.resourceFor(
      object.apiVersion,
      object.kind,
    );
    const refusal = writeRefusal(
      object,
      this.client.cluster.writePolicy,
      this.client.cluster.name,
      namespaced,
    );
    if (refusal) {
      throw new Error(refusal);
    }
    try {
      const existing =
        known === undefined
          ? await this.client.get({ ...object, ...object.metadata })
          : known;
      if (!existing) {
        const created = await this.patch(path, object, !!this.options.dryRun);
        this.remember(object, created);
        return this.options.dryRun
          ? {
              ...entry('created'),
              diff: objectDiff(subject, undefined, created ?? object),
            }
          : entry('created');
      }
      if (this.recreatesFailedJob(object, existing)) {
        if (!this.options.dryRun) {
          this.remember(object, await this.recreate(path, object));
        }
        return entry('created');
      }
      const preview = await this.patch(path, object, true).catch(
        async error => {
          if (!this.mayRecreate(object, error)) {
            throw error;
          }
          if (!this.options.dryRun) {
            this.remember(object, await this.recreate(path, object));
          }
          return undefined;
        },
      );
      if (preview === undefined) {
        return entry('configured');
      }
      if (
        canonicalJson(comparable(preview)) ===
        canonicalJson(comparable(existing))
      ) {
        this.remember(object, existing);
        return entry('unchanged');
      }
      if (this.options.dryRun) {
        return {
          ...entry('configured'),
          diff: objectDiff(subject, existing, preview),
        };
      }
      this.remember(object, await this.patch(path, object, false));
      return entry('configured');
    } catch (error) {
      throw this.explain(subject, error);
    }
  }

  /**
   * Deletes and re-creates an object. Background propagation removes it at once (dependents, such as
   * a Job's pods, follow through the garbage collector); other finalizers may hold it, so wait until
   * it is gone before creating it again.
   */
  private async recreate(
    path: string,
    object: KubernetesObject,
  ): Promise<KubernetesObject> {
    await this.client.request('DELETE', path, {
      query: { propagationPolicy: 'Background' },
    });
    await this.waitUntilGone(object);
    return this.patch(path, object, false);
  }

  /**
   * A failed `batch/v1` Job that asks for `recreateOnFailure` and that this owner applied (it carries
   * the owner labels); someone else's Job of the same name is never deleted.
   */
  private recreatesFailedJob(
    object: KubernetesObject,
    existing: KubernetesObject,
  ): boolean {
    const owner = Object.entries(this.options.ownerLabels ?? {});
    return (
      object.apiVersion === 'batch/v1' &&
      object.kind === 'Job' &&
      object.metadata.annotations?.[ANNOTATION_RECREATE_ON_FAILURE] ===
        'enabled' &&
      owner.length > 0 &&
      owner.every(([k, v]) => existing.metadata.labels?.[k] === v) &&
      hasFailed(existing)
    );
  }

  private mayRecreate(object: KubernetesObject, error: unknown): boolean {
    const forced =
      this.options.recreateImmutable ||
      object.metadata.annotations?.[ANNOTATION_FORCE] === 'enabled';
    return (
      forced &&
      error instanceof KubeApiError &&
      error.statusCode === 422 &&
      /immutable/i.test(error.apiMessage)
    );
  }

  private async waitUntilGone(
    object: KubernetesObject,
    timeoutMs = 30_000,
  ): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (await this.client.get({ ...object, ...object.metadata })) {
      if (Date.now() > deadline) {
        throw new Error(
          `${describeObject(
            object,
          )} was deleted to be re-created but is still there after ${timeoutMs} ms`,
        );
      }
      await new Promise(resolve => setTimeout(resolve, 200));
    }
  }

  private patch(
    path: string,
    object: KubernetesObject,
    dryRun: boolean,
  ): Promise<KubernetesObject> {
    return this.client.request<KubernetesObject>('PATCH', path, {
      query: {
        fieldManager: this.options.fieldManager,
        force: String(this.options.force),
        dryRun: dryRun ? 'All' : undefined,
      },
      body: object,
      contentType: 'application/apply-patch+yaml',
    });
  }

  /** Turns API errors into messages that name the object, the cluster and what to do. */
  private explain(subject: string, error: unknown): Error {
    if (!(error instanceof KubeApiError)) {
      return error as Error;
    }
    const cluster = this.client.cluster.name;
    if (
      error.statusCode === 409 &&
      error.causes.some(c => c.reason === 'FieldManagerConflict')
    ) {
      return new ApplyConflictError(
        subject,
        parseConflictCauses(error.causes),
        this.options.fieldManager,
      );
    }
    let message: string;
    switch (error.statusCode) {
      case 403:
        message = `${subject} forbidden on cluster '${cluster}': ${error.apiMessage}`;
        break;
      case 422:
        message = `${subject} invalid: ${error.apiMessage}`;
        break;
      default:
        message = `${subject} apply failed on cluster '${cluster}' (${error.reason}): ${error.apiMessage}`;
    }
    return new KubeApiError(
      error.statusCode,
      error.reason,
      error.apiMessage,
      error.causes,
      message,
    );
  }

  /** Polls objects until all are ready (kstatus `Current`) or `timeoutMs` passes. */
  async waitForReady(
    objects: KubernetesObject[],
    timeoutMs: number,
    intervalMs = 500,
  ): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let pending = objects;
    for (;;) {
      const readings = await Promise.all(
        pending.map(async o => ({
          o,
          readiness: readObjectReadiness(
            await this.client.get({ ...o, ...o.metadata }),
          ),
        })),
      );
      const failed = readings.find(r => r.readiness.status === 'Failed');
      if (failed) {
        throw new Error(
          `${describeObject(failed.o)} failed: ${failed.readiness.message}`,
        );
      }
      pending = readings
        .filter(r => r.readiness.status !== 'Current')
        .map(r => r.o);
      if (pending.length === 0) {
        return;
      }
      if (Date.now() > deadline) {
        const list = readings
          .filter(r => r.readiness.status !== 'Current')
          .map(
            r =>
              `${describeObject(r.o)} (${r.readiness.status}: ${
                r.readiness.message
              })`,
          );
        throw new Error(`timeout waiting for ${list.join(', ')}`);
      }
      await new Promise(resolve => setTimeout(resolve, intervalMs));
    }
  }
}
