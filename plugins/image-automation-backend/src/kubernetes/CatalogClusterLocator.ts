import { BackstageCredentials } from '@backstage/backend-plugin-api';
import { Entity, stringifyEntityRef } from '@backstage/catalog-model';
import { CatalogService } from '@backstage/plugin-catalog-node';
import {
  ANNOTATION_KUBERNETES_API_SERVER,
  ANNOTATION_KUBERNETES_API_SERVER_CA,
  ANNOTATION_KUBERNETES_AUTH_PROVIDER,
  ANNOTATION_KUBERNETES_SKIP_TLS_VERIFY,
} from '@backstage/plugin-kubernetes-common';
import { writePolicyOf } from './ConfigClusterLocator';
import { KubernetesSettings } from './kubernetesSettings';
import { ClusterDetails } from './types';

/**
 * A catalog cluster that cannot be used, and why (shown to operators instead of silently dropping it).
 * @internal
 */
export interface RejectedCluster {
  entityRef: string;
  /** The cluster name the entity claims (its `metadata.name`). */
  name: string;
  reason: string;
}

/**
 * Turns one `Resource` entity of type `kubernetes-cluster` into a cluster, using the Kubernetes
 * plugin's annotations for the API server, its CA and skip-TLS-verify. The catalog never supplies a
 * token: the credential is the one app-config binds to this cluster name, and it is only used when
 * the entity's API server is the URL app-config names for it.
 * @internal
 */
export function clusterFromEntity(
  entity: Entity,
  settings: KubernetesSettings,
): ClusterDetails | RejectedCluster {
  const entityRef = stringifyEntityRef(entity);
  const name = entity.metadata.name;
  const annotations = entity.metadata.annotations ?? {};
  const url = annotations[ANNOTATION_KUBERNETES_API_SERVER];
  if (!url) {
    return {
      entityRef,
      name,
      reason: `missing annotation ${ANNOTATION_KUBERNETES_API_SERVER}`,
    };
  }
  const authProvider = annotations[ANNOTATION_KUBERNETES_AUTH_PROVIDER];
  if (authProvider && authProvider !== 'serviceAccount') {
    return {
      entityRef,
      name,
      reason: `auth provider '${authProvider}' is not supported by image automation (only serviceAccount with a named credential)`,
    };
  }
  const clusterSettings = settings.clusters.find(c => c.name === name);
  if (!clusterSettings?.credential) {
    return {
      entityRef,
      name,
      reason: `no credential for cluster '${name}': add it to imageAutomation.kubernetes.clusters with a credential and url`,
    };
  }
  if (clusterSettings.url !== url) {
    return {
      entityRef,
      name,
      reason: `the catalog's API server '${url}' is not the url app-config allows for cluster '${name}' (${
        clusterSettings.url ?? 'none set'
      })`,
    };
  }
  const auth = settings.credentials.get(clusterSettings.credential);
  if (!auth) {
    return {
      entityRef,
      name,
      reason: `credential '${clusterSettings.credential}' is not a token or clientCertificate entry of imageAutomation.credentials`,
    };
  }
  return {
    name,
    url,
    source: 'catalog',
    auth,
    caData: annotations[ANNOTATION_KUBERNETES_API_SERVER_CA] || undefined,
    skipTLSVerify:
      annotations[ANNOTATION_KUBERNETES_SKIP_TLS_VERIFY] === 'true',
    writePolicy: writePolicyOf(clusterSettings),
    entityRef,
  };
}

/**
 * Clusters registered in the catalog as `Resource` entities of type `kubernetes-cluster`.
 * @internal
 */
export class CatalogClusterLocator {
  constructor(
    private readonly catalog: Pick<CatalogService, 'getEntities'>,
    private readonly settings: KubernetesSettings,
  ) {}

  /** The usable clusters, and the ones that were refused with the reason. */
  async getClusters(credentials: BackstageCredentials): Promise<{
    clusters: ClusterDetails[];
    rejected: RejectedCluster[];
  }> {
    const { items } = await this.catalog.getEntities(
      { filter: { kind: 'Resource', 'spec.type': 'kubernetes-cluster' } },
      { credentials },
    );
    const clusters: ClusterDetails[] = [];
    const rejected: RejectedCluster[] = [];
    for (const entity of items) {
      const result = clusterFromEntity(entity, this.settings);
      if ('reason' in result) {
        rejected.push(result);
      } else {
        clusters.push(result);
      }
    }
    return { clusters, rejected };
  }
}
