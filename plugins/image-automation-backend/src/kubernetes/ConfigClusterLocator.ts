import { Config } from '@backstage/config';
import fs from 'node:fs';
import { ClusterSettings, KubernetesSettings } from './kubernetesSettings';
import { ClusterAuth, ClusterDetails, ClusterWritePolicy } from './types';

/**
 * The policy part of a cluster's settings; a cluster without settings gets the empty policy, which
 * allows nothing.
 * @internal
 */
export function writePolicyOf(
  settings: ClusterSettings | undefined,
): ClusterWritePolicy {
  return {
    allowedNamespaces: settings?.allowedNamespaces,
    allowedKinds: settings?.allowedKinds,
    allowedClusterScopedKinds: settings?.allowedClusterScopedKinds,
    allowedEntities: settings?.allowedEntities,
    allowedOwners: settings?.allowedOwners,
  };
}

/**
 * Clusters listed in app-config under `kubernetes.clusterLocatorMethods` entries of type `config`,
 * the same entries Backstage's Kubernetes plugin reads. Config is trusted, so a cluster's own
 * `serviceAccountToken` is used; `imageAutomation.kubernetes.clusters[].credential` overrides it
 * (for example with a client certificate). Only clusters also listed under
 * `imageAutomation.kubernetes.clusters` are usable: the others are {@link ConfigClusterLocator.getUnlisted}.
 * @internal
 */
export class ConfigClusterLocator {
  constructor(
    private readonly config: Config,
    private readonly settings: KubernetesSettings,
  ) {}

  /** The clusters image automation may use (listed in `imageAutomation.kubernetes.clusters`), in config order. */
  getClusters(): ClusterDetails[] {
    return this.configured()
      .filter(c => this.isListed(c.getString('name')))
      .map(c => this.toCluster(c));
  }

  /**
   * Names of the config clusters image automation may not use: the Kubernetes plugin's clusters
   * are not writable unless `imageAutomation.kubernetes.clusters` lists them with a policy.
   */
  getUnlisted(): string[] {
    return this.configured()
      .map(c => c.getString('name'))
      .filter(name => !this.isListed(name));
  }

  private isListed(name: string): boolean {
    return this.settings.clusters.some(s => s.name === name);
  }

  private configured(): Config[] {
    const methods =
      this.config.getOptionalConfigArray('kubernetes.clusterLocatorMethods') ??
      [];
    return methods
      .filter(m => m.getString('type') === 'config')
      .flatMap(m => m.getOptionalConfigArray('clusters') ?? []);
  }

  private toCluster(c: Config): ClusterDetails {
    const name = c.getString('name');
    const settings = this.settings.clusters.find(s => s.name === name);
    let auth: ClusterAuth | undefined;
    if (settings?.credential) {
      auth = this.settings.credentials.get(settings.credential);
      if (!auth) {
        throw new Error(
          `imageAutomation.kubernetes.clusters '${name}' names credential '${settings.credential}', which is not a token or clientCertificate entry of imageAutomation.credentials`,
        );
      }
    } else {
      const token = c.getOptionalString('serviceAccountToken');
      auth = token ? { type: 'serviceAccount', token } : undefined;
    }
    const caFile = c.getOptionalString('caFile');
    return {
      name,
      url: c.getString('url'),
      source: 'config',
      auth,
      caData:
        c.getOptionalString('caData') ??
        (caFile ? fs.readFileSync(caFile).toString('base64') : undefined),
      skipTLSVerify: c.getOptionalBoolean('skipTLSVerify') ?? false,
      writePolicy: writePolicyOf(settings),
    };
  }
}
