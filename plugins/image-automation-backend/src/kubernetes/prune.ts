import { compareApplyOrder, planPrunePhases } from './applyOrder';
import { policyRefusal, scopeOf } from './clusterWritePolicy';
import { KubeApiError } from './errors';
import { KubeClient } from './KubeClient';
import { describeObject, parseInventoryEntry } from './inventoryId';
import { ChangeSetEntry, InventoryEntry, KubernetesObject } from './types';

/**
 * Annotation that keeps an object when it leaves the set (Flux Operator's `prune: disabled`).
 * @internal
 */
export const ANNOTATION_PRUNE = 'fluxcd.controlplane.io/prune';

/**
 * Options of {@link pruneStale}.
 * @internal
 */
export interface PruneOptions {
  /** Labels that mark objects as ours; an object without all of them is never deleted. */
  ownerLabels: Record<string, string>;
  dryRun?: boolean;
  /** How long to wait for Flux objects of the first phase to disappear (default 60 s). */
  fluxPhaseTimeoutMs?: number;
}

/**
 * Deletes stale inventory entries (objects applied before but not any more), as Flux does: in two
 * phases, Flux Kustomizations and HelmReleases first (waiting for them to go, so their controllers
 * can clean up what they deployed), then the rest; background propagation; only objects that
 * still carry the owner labels; never objects annotated `fluxcd.controlplane.io/prune: disabled`;
 * never objects the cluster's write policy does not cover (skipped with a `reason`).
 * Objects already gone are not reported. Returns the `deleted` (or skipped) changes.
 * @internal
 */
export async function pruneStale(
  client: KubeClient,
  stale: InventoryEntry[],
  options: PruneOptions,
): Promise<ChangeSetEntry[]> {
  const changes: ChangeSetEntry[] = [];
  const refs = stale.map(entry => ({ entry, ...parseInventoryEntry(entry) }));
  for (const phase of planPrunePhases(refs)) {
    const deleted: typeof refs = [];
    // Within a phase, objects go in reverse apply order (webhooks first, Namespaces and CRDs
    // last), and the change set lists them in that order, as the Flux Operator's does.
    const ordered = [...phase.objects].sort(
      (a, b) => -compareApplyOrder(asObject(a), asObject(b)),
    );
    for (const ref of ordered) {
      const subject = describeObject({ kind: ref.kind, metadata: ref });
      // The policy is checked again: an object the cluster's policy no longer covers (or never did,
      // e.g. an inventory written before the policy was tightened) is left alone, not deleted.
      const namespaced = await scopeOf(client, ref.apiVersion, ref.kind);
      if (namespaced === undefined) {
        // The kind itself is gone (its CRD was pruned or uninstalled): nothing left to delete.
        continue;
      }
      const refusal = policyRefusal(
        ref,
        client.cluster.writePolicy,
        client.cluster.name,
        namespaced,
      );
      if (refusal) {
        changes.push({
          subject,
          id: ref.entry.id,
          version: ref.entry.v,
          action: 'skipped',
          reason: `left in place, not pruned: ${refusal}`,
        });
        continue;
      }
      let current;
      try {
        current = await client.get(ref);
      } catch (error) {
        // The kind itself may be gone (its CRD was pruned or uninstalled): nothing left to delete.
        if (error instanceof KubeApiError && error.statusCode === 404) {
          continue;
        }
        throw error;
      }
      if (!current) {
        continue;
      }
      const labels = current.metadata.labels ?? {};
      const owned = Object.entries(options.ownerLabels).every(
        ([k, v]) => labels[k] === v,
      );
      if (
        !owned ||
        current.metadata.annotations?.[ANNOTATION_PRUNE] === 'disabled'
      ) {
        changes.push({
          subject,
          id: ref.entry.id,
          version: ref.entry.v,
          action: 'skipped',
        });
        continue;
      }
      try {
        await client.request('DELETE', await client.pathOf(ref), {
          query: {
            propagationPolicy: 'Background',
            dryRun: options.dryRun ? 'All' : undefined,
          },
        });
      } catch (error) {
        if (!(error instanceof KubeApiError && error.statusCode === 404)) {
          throw error;
        }
      }
      changes.push({
        subject,
        id: ref.entry.id,
        version: ref.entry.v,
        action: 'deleted',
      });
      deleted.push(ref);
    }
    if (!options.dryRun && phase.fluxObjects && deleted.length > 0) {
      await waitUntilGone(
        client,
        deleted,
        options.fluxPhaseTimeoutMs ?? 60_000,
      );
    }
  }
  return changes;
}

/** An inventory reference in the shape {@link compareApplyOrder} compares. */
function asObject(ref: {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
}): KubernetesObject {
  return {
    apiVersion: ref.apiVersion,
    kind: ref.kind,
    metadata: { name: ref.name, namespace: ref.namespace },
  };
}

async function waitUntilGone(
  client: KubeClient,
  refs: Array<{
    apiVersion: string;
    kind: string;
    namespace?: string;
    name: string;
  }>,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let remaining = refs;
  while (remaining.length > 0 && Date.now() < deadline) {
    const present = await Promise.all(
      remaining.map(async r => ((await client.get(r)) ? r : undefined)),
    );
    remaining = present.filter((r): r is (typeof refs)[number] => !!r);
    if (remaining.length > 0) {
      await new Promise(resolve => setTimeout(resolve, 500));
    }
  }
  // Flux moves on after the timeout too: a Kustomization stuck on a finalizer must not block the rest.
}
