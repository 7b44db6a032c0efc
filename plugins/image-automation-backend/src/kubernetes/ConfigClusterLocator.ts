import { Config } from '@backstage/config';
import fs from 'node:fs';
import { KubernetesSettings } from './kubernetesSettings';
import { ClusterAuth, ClusterDetails } from './types';

/**
 * Clusters listed in app-config under `kubernetes.clusterLocatorMethods` entries of type `config`,
 * the same entries Backstage's Kubernetes plugin reads. Config is trusted, so a cluster's own
 * `serviceAccountToken` is used; `imageAutomation.kubernetes.clusters[].credential` overrides it
 * (for example with a client certificate).
 * @public
 */
export class ConfigClusterLocator {
  constructor(
    private readonly config: Config,
    private readonly settings: KubernetesSettings,
  ) {}

  /** The clusters, in config order. */
  getClusters(): ClusterDetails[] {
    const methods =
      this.config.getOptionalConfigArray('kubernetes.clusterLocatorMethods') ??
      [];
    return methods
      .filter(m => m.getString('type') === 'config')
      .flatMap(m => m.getOptionalConfigArray('clusters') ?? [])
      .map(c => this.toCluster(c));
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
      writePolicy: {
        allowedNamespaces: settings?.allowedNamespaces,
        allowedKinds: settings?.allowedKinds,
      },
    };
  }
}
