import { Config } from '@backstage/config';
import type { RegistryCredentials, RegistryTls } from '../registry';

interface NamedCredential {
  credentials?: RegistryCredentials;
  tls?: RegistryTls;
  allowedEntities?: string[];
}

/**
 * The credentials that manifests name with `secretRef.name`, from
 * `imageAutomation.credentials` in app-config. A manifest never carries a secret itself, and
 * a credential may be limited to some entities.
 * @internal
 */
export class NamedCredentials {
  static fromConfig(config: Config): NamedCredentials {
    const entries = new Map<string, NamedCredential>();
    const section = config.getOptionalConfig('imageAutomation.credentials');
    for (const name of section?.keys() ?? []) {
      const c = section!.getConfig(name);
      const type = c.getString('type');
      let credentials: RegistryCredentials | undefined;
      let tls: RegistryTls | undefined;
      if (type === 'clientCertificate') {
        // A Kubernetes client certificate (imageAutomation.kubernetes reads it); no registry use.
      } else if (type === 'tls') {
        tls = { ca: c.getOptionalString('ca'), cert: c.getOptionalString('cert'), key: c.getOptionalString('key') };
        if (!!tls.cert !== !!tls.key) {
          throw new Error(`imageAutomation.credentials.${name}: cert and key go together`);
        }
      } else if (type === 'basic') {
        credentials = { type, username: c.getString('username'), password: c.getString('password') };
      } else if (type === 'token') {
        credentials = { type, token: c.getString('token') };
      } else if (type === 'dockerConfigJson') {
        credentials = { type, dockerConfigJson: c.getString('dockerConfigJson') };
      } else {
        throw new Error(
          `imageAutomation.credentials.${name}.type must be one of basic, token, dockerConfigJson, tls, clientCertificate; got '${type}'`,
        );
      }
      entries.set(name, {
        credentials,
        tls,
        allowedEntities: c.getOptionalStringArray('allowedEntities')?.map(ref => ref.toLocaleLowerCase('en-US')),
      });
    }
    return new NamedCredentials(entries);
  }

  private constructor(private readonly entries: Map<string, NamedCredential>) {}

  /**
   * The credential called `name` (a manifest's `secretRef.name`) for an object owned by
   * `entityRef`; throws with a message fit for a condition (never containing the secret) when
   * it is missing, of another type, or not allowed.
   */
  resolve(name: string, entityRef: string | undefined): RegistryCredentials {
    const credentials = this.entry(name, entityRef).credentials;
    if (!credentials) {
      throw new Error(`credential '${name}' is of another type; secretRef needs basic, token or dockerConfigJson`);
    }
    return credentials;
  }

  /** The TLS material called `name` (a manifest's `certSecretRef.name`). */
  resolveTls(name: string, entityRef: string | undefined): RegistryTls {
    const tls = this.entry(name, entityRef).tls;
    if (!tls) {
      throw new Error(`credential '${name}' is not of type tls, as certSecretRef needs`);
    }
    return tls;
  }

  private entry(name: string, entityRef: string | undefined): NamedCredential {
    const entry = this.entries.get(name);
    if (!entry) {
      throw new Error(`credential '${name}' is not defined in imageAutomation.credentials`);
    }
    if (entry.allowedEntities) {
      const ref = entityRef?.toLocaleLowerCase('en-US');
      if (!ref || !entry.allowedEntities.includes(ref)) {
        throw new Error(
          `credential '${name}' may not be used by ${entityRef ?? 'objects without an entity'} (imageAutomation.credentials.${name}.allowedEntities)`,
        );
      }
    }
    return entry;
  }
}
