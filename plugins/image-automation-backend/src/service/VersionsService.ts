import { requireEntityRead } from './requireEntityRead';
import {
  BackstageCredentials,
  PermissionsService,
} from '@backstage/backend-plugin-api';
import {
  EntityVersionsView,
  ImagePolicySpec,
  LABEL_KUBERNETES_ID,
  objectId,
  OPEN_PROMOTION_STATES,
  ResourceSetSpec,
  TargetVersionView,
} from '@imageops/backstage-plugin-image-automation-common';
import { policyOfSetter } from '../git/applySetters';
import { InputProviderReference, selectProviders } from '../resourceset';
import { PodImages, summarisePods } from '../kubernetes/runningImages';
import { clusterTarget, providerVersion } from '../promotions/clusterTargets';
import {
  carriedVersion,
  gitTarget,
  policySubject,
  versionOfRef,
} from '../promotions/gitTargets';
import {
  prepareVersionGap,
  PreparedVersionGap,
} from '../promotions/versionGap';
import { policyRepository } from '../objects/policyRepository';
import { ObjectStore, StoredObject } from '../store/ObjectStore';
import { PromotionStore } from '../store/PromotionStore';
import { ScanStore, TagRecord } from '../store/ScanStore';

/** The namespaces a ResourceSet applied objects into (inventory ids are `<ns>_<name>_<group>_<Kind>`). */
function namespacesOf(resourceSet: StoredObject): string[] {
  const namespaces = new Set(
    (resourceSet.status.inventory?.entries ?? [])
      .map(e => e.id.split('_')[0])
      .filter(Boolean),
  );
  return namespaces.size > 0 ? [...namespaces].sort() : [resourceSet.namespace];
}

/** How long the tags of one repository are reused while one view is assembled. */
type TagCache = Map<string, Promise<TagRecord[]>>;
/** The objects read while one view is assembled, by id: the entity's own, then each policy read once. */
type ObjectCache = Map<string, Promise<StoredObject | undefined>>;
/** The "newest"/"behind" preparation of each policy while one view is assembled, by policy id: its targets differ only in the deployed tag. */
type GapCache = Map<string, Promise<PreparedVersionGap>>;

/**
 * The versions matrix of an entity: for every target (each ImageUpdateAutomation's markers of one
 * ImagePolicy, each ResourceSet in each cluster) and image, what it carries, what the policy
 * selected, the newest tag and how far behind it is, with the pin and the open promotion.
 * @internal
 */
export class VersionsService {
  constructor(
    private readonly deps: {
      objects: ObjectStore;
      scans: ScanStore;
      promotions: PromotionStore;
      permissions: PermissionsService;
      /**
       * The pods of a cluster that carry `backstage.io/kubernetes-id=<id>`, in the given namespaces;
       * without it the running column is left out.
       */
      pods?: (
        cluster: string,
        labelSelector: string,
        namespaces: string[],
      ) => Promise<PodImages[]>;
      now?: () => Date;
    },
  ) {}

  async versions(
    entityRef: string,
    credentials: BackstageCredentials,
  ): Promise<EntityVersionsView> {
    await requireEntityRead(this.deps.permissions, entityRef, credentials);
    const now = this.deps.now?.() ?? new Date();
    const objects = await this.deps.objects.list({ entityRef });
    const tags: TagCache = new Map();
    const gaps: GapCache = new Map();
    // Policies are read once per view, not once per automation that names them.
    const known: ObjectCache = new Map(
      objects.map(o => [o.id, Promise.resolve(o)]),
    );
    const rows: TargetVersionView[] = [];
    for (const object of objects) {
      if (object.kind === 'ImageUpdateAutomation')
        rows.push(...(await this.gitRows(object, tags, known, gaps)));
      if (object.kind === 'ResourceSet')
        rows.push(...(await this.clusterRows(object)));
    }
    const targetIds = [...new Set(rows.map(r => r.target.id))];
    const pins = await this.deps.promotions.listPins(targetIds, now);
    const open = await this.openPromotions(targetIds);
    for (const row of rows) {
      row.pin = pins.find(
        p => p.targetId === row.target.id && p.subject === row.subject,
      );
      row.promotionId = open.get(`${row.target.id}\n${row.subject}`);
    }
    return { entityRef, items: rows };
  }

  /**
   * The open promotion of every subject of the targets, by `<target id>\n<subject>`: one query per
   * target rather than one per row; as `findOpen`, the newest when there were several.
   */
  private async openPromotions(
    targetIds: string[],
  ): Promise<Map<string, string>> {
    const open = new Map<string, string>();
    for (const targetId of targetIds) {
      let cursor: string | undefined;
      do {
        const page = await this.deps.promotions.list({
          targetId,
          states: [...OPEN_PROMOTION_STATES],
          limit: 500,
          cursor,
        });
        for (const promotion of page.items) {
          const key = `${targetId}\n${promotion.subject}`;
          if (!open.has(key)) open.set(key, promotion.id); // newest first
        }
        cursor = page.nextCursor;
      } while (cursor);
    }
    return open;
  }

  private async gitRows(
    automation: StoredObject,
    cache: TagCache,
    known: ObjectCache,
    gaps: GapCache,
  ): Promise<TargetVersionView[]> {
    const byPolicy = new Map<
      string,
      NonNullable<TargetVersionView['markers']>
    >();
    for (const marker of automation.status.markers ?? []) {
      const policy = policyOfSetter(marker.setter, automation.namespace);
      if (!policy) continue;
      byPolicy.set(policy, [...(byPolicy.get(policy) ?? []), marker]);
    }
    const rows: TargetVersionView[] = [];
    for (const [name, markers] of byPolicy) {
      const policyId = objectId('ImagePolicy', automation.namespace, name);
      if (!known.has(policyId))
        known.set(policyId, this.deps.objects.get(policyId));
      const policy = await known.get(policyId)!;
      const deployed = carriedVersion(
        markers.map(m => ({ ...m, policy: name })),
      );
      // The tenancy check the policy's reconciler makes (issue #13): a policy may not show the tags
      // of a repository it may not refer to (another tenant's), nor a selection it made from them.
      const source = policy
        ? await policyRepository(this.deps.objects, policy, id =>
            this.knownObject(known, id),
          )
        : undefined;
      const latest = source?.denied ? undefined : policy?.status.latestRef;
      const row: TargetVersionView = {
        target: gitTarget(automation.id),
        subject: policySubject(automation.namespace, name),
        image: latest?.name ?? deployed?.image ?? name,
        markers,
        deployed,
        selected: latest ? versionOfRef(latest) : undefined,
      };
      const spec = policy?.manifest.spec as ImagePolicySpec | undefined;
      if (source?.denied) {
        row.tagsUnavailable = `reference not allowed: ${source.denied}`;
      } else if (spec?.imageRepositoryRef && source) {
        const repository = source.id;
        if (!cache.has(repository))
          cache.set(repository, this.deps.scans.presentTags(repository));
        // The policy (read once per view) names one repository: one preparation serves all its targets.
        if (!gaps.has(policyId))
          gaps.set(
            policyId,
            cache
              .get(repository)!
              .then(tags => prepareVersionGap({ policySpec: spec, tags })),
          );
        Object.assign(row, (await gaps.get(policyId)!).gap(deployed?.tag));
      }
      rows.push(row);
    }
    return rows;
  }

  /** An object read at most once per view. */
  private knownObject(
    known: ObjectCache,
    id: string,
  ): Promise<StoredObject | undefined> {
    if (!known.has(id)) known.set(id, this.deps.objects.get(id));
    return known.get(id)!;
  }

  private async clusterRows(
    resourceSet: StoredObject,
  ): Promise<TargetVersionView[]> {
    const clusters = resourceSet.status.appliedClusters ?? [];
    const spec = (resourceSet.manifest.spec ?? {}) as ResourceSetSpec;
    const candidates = await this.deps.objects.list({
      kind: 'ResourceSetInputProvider',
      namespace: resourceSet.namespace,
    });
    let providers: StoredObject[];
    try {
      const chosen = selectProviders(
        resourceSet.namespace,
        (spec.inputsFrom ?? []) as InputProviderReference[],
        candidates.map(p => ({
          apiVersion: p.apiVersion,
          kind: p.kind,
          name: p.name,
          namespace: p.namespace,
          labels: p.manifest.metadata.labels ?? {},
          inputs: [],
        })),
      );
      providers = candidates.filter(p => chosen.some(c => c.name === p.name));
    } catch {
      providers = []; // an invalid selector: the ResourceSet itself is Stalled and says why
    }
    const kubernetesId =
      resourceSet.manifest.metadata.labels?.[LABEL_KUBERNETES_ID];
    const rows: TargetVersionView[] = [];
    for (const cluster of clusters) {
      const target = clusterTarget(resourceSet.id, cluster);
      let pods: PodImages[] | undefined;
      let podsError: string | undefined;
      if (this.deps.pods && kubernetesId) {
        try {
          pods = await this.deps.pods(
            cluster,
            `${LABEL_KUBERNETES_ID}=${kubernetesId}`,
            namespacesOf(resourceSet),
          );
        } catch (error) {
          podsError = `cluster '${cluster}' could not be read: ${
            (error as Error).message
          }`;
        }
      }
      for (const provider of providers) {
        const applied = await this.deps.promotions.lastApplied(
          target.id,
          provider.id,
        );
        const selected = providerVersion(provider);
        const deployed = applied?.to;
        const row: TargetVersionView = {
          target,
          subject: provider.id,
          image: selected?.image ?? deployed?.image ?? provider.name,
          deployed,
          selected,
        };
        if (podsError) {
          row.running = { summary: podsError, images: [], error: podsError };
        } else if (pods && deployed) {
          row.running = summarisePods(pods, {
            repository: deployed.image,
            tag: deployed.tag,
            digest: deployed.digest,
          });
        }
        rows.push(row);
      }
    }
    return rows;
  }
}
