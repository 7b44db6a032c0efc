import { Config } from '@backstage/config';
import { ClusterAuth, ClusterWritePolicy } from './types';

/**
 * Per-cluster settings from `imageAutomation.kubernetes.clusters[]`. A cluster is only usable by
 * image automation when it is listed there; its policy lists fail closed (empty: nothing).
 * @internal
 */
export interface ClusterSettings extends ClusterWritePolicy {
  name: string;
  /** Name of an `imageAutomation.credentials` entry (type `token` or `clientCertificate`). */
  credential?: string;
  /**
   * The API server URL the credential may be sent to. Required for catalog clusters: the catalog says
   * where a cluster is, and a catalog author must not be able to point our token at a server of theirs.
   */
  url?: string;
  /** Take ownership of fields another field manager owns (server-side apply `force`). */
  force?: boolean;
}

/**
 * Everything the Kubernetes layer reads from `imageAutomation.kubernetes` and
 * `imageAutomation.credentials`.
 * @internal
 */
export interface KubernetesSettings {
  /** Server-side apply field manager, default `image-automation`. */
  fieldManager: string;
  /** Default for `force` on every cluster, default false. */
  force: boolean;
  /** How many requests to one cluster may be in flight at once, default 8. */
  concurrency: number;
  clusters: ClusterSettings[];
  /** Credentials usable for clusters, by name. */
  credentials: Map<string, ClusterAuth>;
}

/** @internal */
export const DEFAULT_FIELD_MANAGER = 'image-automation';

function readCredentials(config: Config | undefined): Map<string, ClusterAuth> {
  const credentials = new Map<string, ClusterAuth>();
  if (!config) {
    return credentials;
  }
  for (const name of config.keys()) {
    const entry = config.getConfig(name);
    // Registry credentials (docker config, basic) live under the same key; they are not ours.
    switch (entry.getOptionalString('type')) {
      case 'token':
        credentials.set(name, {
          type: 'serviceAccount',
          token: entry.getString('token'),
        });
        break;
      case 'clientCertificate':
        credentials.set(name, {
          type: 'clientCertificate',
          certData: entry.getString('certData'),
          keyData: entry.getString('keyData'),
        });
        break;
      default:
        break;
    }
  }
  return credentials;
}

/**
 * Reads the Kubernetes layer's settings from the root config.
 * @internal
 */
export function readKubernetesSettings(config: Config): KubernetesSettings {
  const kubernetes = config.getOptionalConfig('imageAutomation.kubernetes');
  const clusters = (kubernetes?.getOptionalConfigArray('clusters') ?? []).map(
    c => ({
      name: c.getString('name'),
      credential: c.getOptionalString('credential'),
      url: c.getOptionalString('url'),
      force: c.getOptionalBoolean('force'),
      allowedNamespaces: c.getOptionalStringArray('allowedNamespaces'),
      allowedKinds: c.getOptionalStringArray('allowedKinds'),
      allowedClusterScopedKinds: c.getOptionalStringArray(
        'allowedClusterScopedKinds',
      ),
      allowedEntities: c.getOptionalStringArray('allowedEntities'),
      allowedOwners: c.getOptionalStringArray('allowedOwners'),
    }),
  );
  return {
    fieldManager:
      kubernetes?.getOptionalString('fieldManager') ?? DEFAULT_FIELD_MANAGER,
    force: kubernetes?.getOptionalBoolean('force') ?? false,
    concurrency: kubernetes?.getOptionalNumber('concurrency') ?? 8,
    clusters,
    credentials: readCredentials(
      config.getOptionalConfig('imageAutomation.credentials'),
    ),
  };
}
