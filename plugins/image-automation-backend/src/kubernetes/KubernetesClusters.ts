import { BackstageCredentials } from '@backstage/backend-plugin-api';
import {
  CatalogClusterLocator,
  RejectedCluster,
} from './CatalogClusterLocator';
import { ConfigClusterLocator } from './ConfigClusterLocator';
import { ClusterDetails } from './types';

/**
 * All clusters automation can write to: those from app-config, then those from the catalog, each
 * only when `imageAutomation.kubernetes.clusters` lists it (with its policy). A catalog cluster with
 * the name of a config cluster is refused, so the catalog cannot shadow a cluster the platform team
 * configured.
 * @internal
 */
export class KubernetesClusters {
  constructor(
    private readonly fromConfig: ConfigClusterLocator,
    private readonly fromCatalog?: CatalogClusterLocator,
  ) {}

  async list(credentials: BackstageCredentials): Promise<{
    clusters: ClusterDetails[];
    rejected: RejectedCluster[];
  }> {
    const clusters = this.fromConfig.getClusters();
    const unlisted = this.fromConfig.getUnlisted();
    const rejected: RejectedCluster[] = unlisted.map(name => ({
      entityRef: 'app-config',
      name,
      reason: `cluster '${name}' of kubernetes.clusterLocatorMethods is not listed in imageAutomation.kubernetes.clusters: image automation only uses clusters listed there with their policy`,
    }));
    if (this.fromCatalog) {
      const catalog = await this.fromCatalog.getClusters(credentials);
      // Also the unlisted ones: the catalog may not take over a name app-config uses.
      const configured = new Set([...clusters.map(c => c.name), ...unlisted]);
      const shadowing = (name: string, entityRef: string) => ({
        entityRef,
        name,
        reason: `cluster name '${name}' is already configured in app-config`,
      });
      for (const refusal of catalog.rejected) {
        rejected.push(
          configured.has(refusal.name)
            ? shadowing(refusal.name, refusal.entityRef)
            : refusal,
        );
      }
      for (const cluster of catalog.clusters) {
        if (configured.has(cluster.name)) {
          rejected.push(shadowing(cluster.name, cluster.entityRef!));
        } else {
          clusters.push(cluster);
        }
      }
    }
    return { clusters, rejected };
  }

  /** One cluster by name; throws with the reason when it is unknown or was refused. */
  async get(
    name: string,
    credentials: BackstageCredentials,
  ): Promise<ClusterDetails> {
    const { clusters, rejected } = await this.list(credentials);
    const cluster = clusters.find(c => c.name === name);
    if (cluster) {
      return cluster;
    }
    const refusal = rejected.find(r => r.name === name);
    throw new Error(
      refusal
        ? `cluster '${name}' (${refusal.entityRef}) cannot be used: ${refusal.reason}`
        : `unknown cluster '${name}'`,
    );
  }
}
