import { Config } from '@backstage/config';
import type { RegistryCredentials, RegistryTls } from '../registry';
import { isHostAllowed } from '../registry/allowedHosts';

/** One `hosts` entry of a credential: `host[:port]` (a leading `*.` for subdomains) and a path prefix. */
interface HostBinding {
  host: string;
  /** Path prefix without leading or trailing `/`; empty for any path. */
  path: string;
}

interface NamedCredential {
  credentials?: RegistryCredentials;
  tls?: RegistryTls;
  /** Undefined when the config has no `allowedEntities`: nobody may use the credential. */
  allowedEntities?: string[];
  hosts: HostBinding[];
  /** The cluster (`imageAutomation.kubernetes.clusters[].credential`) this credential is reserved for. */
  cluster?: string;
  /** `token` only: a notification Provider's address, itself a secret (a webhook URL). */
  address?: string;
  /** `githubApp` only. */
  githubApp?: GitHubAppCredential;
  /** `sshKey` only: a deploy key for Git over SSH. */
  sshKey?: SshKeyCredential;
}

/**
 * A deploy key for Git over SSH (`type: sshKey`; Flux's Secret keys `identity`, `known_hosts`).
 * @internal
 */
export interface SshKeyCredential {
  /** OpenSSH or PEM private key; a secret. */
  privateKey: string;
  /** A secret. */
  passphrase?: string;
  /** `known_hosts` lines: the host keys accepted (required; nothing is trusted on first use). */
  knownHosts: string;
}

/** Checks an `sshKey` credential's config at startup; errors name the key, never its value. */
function readSshKey(c: Config, name: string): SshKeyCredential {
  const where = `imageAutomation.credentials.${name}`;
  // Read leniently (an unset environment variable is an empty string): the checks below name what is missing.
  const text = (key: string) => {
    const value = c.getOptional(key);
    return typeof value === 'string' ? value : '';
  };
  const privateKey = text('privateKey');
  if (
    !/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]+-----END [A-Z0-9 ]*PRIVATE KEY-----/.test(
      privateKey,
    )
  ) {
    throw new Error(
      `${where}: an sshKey credential needs privateKey, an OpenSSH or PEM private key (-----BEGIN ... PRIVATE KEY-----)`,
    );
  }
  const knownHosts = text('knownHosts');
  const lines = knownHosts
    .split(/\r?\n/)
    .map(l => l.trim())
    .filter(l => l !== '' && !l.startsWith('#'));
  if (lines.length === 0) {
    throw new Error(
      `${where}: an sshKey credential needs knownHosts (known_hosts lines with the server's host keys, e.g. from ssh-keyscan, checked); host keys are never trusted on first use`,
    );
  }
  lines.forEach((line, i) => {
    const fields = line.split(/\s+/);
    const [hosts, keyType, key] = fields[0].startsWith('@')
      ? fields.slice(1)
      : fields;
    if (
      !hosts ||
      !keyType ||
      !key ||
      !/^[A-Za-z0-9+/]+={0,2}$/.test(key) ||
      !/^[a-z0-9@.-]+$/.test(keyType)
    ) {
      throw new Error(
        `${where}.knownHosts: line ${
          i + 1
        } is not a known_hosts line (hosts key-type base64-key)`,
      );
    }
  });
  return {
    privateKey,
    passphrase: text('passphrase') || undefined,
    knownHosts,
  };
}

/**
 * A GitHub App installation (`type: githubApp`), as the Flux Operator's `githubApp*` secret keys:
 * the app's id and private key, the installation by id or by its account's login, and the API
 * base URL where installation tokens are minted (default: the repository host's API).
 * @internal
 */
export interface GitHubAppCredential {
  /** The credential's name in `imageAutomation.credentials` (token cache key, messages). */
  name: string;
  appId: string;
  installationId?: string;
  installationOwner?: string;
  /** PEM; a secret. */
  privateKey: string;
  baseUrl?: string;
}

/**
 * Where a credential would be sent: a registry repository (`host[:port]` as in the image name,
 * and the repository path) over `scheme`, or a Git remote URL.
 * @internal
 */
export type CredentialTarget =
  | { kind: 'registry'; host: string; repository: string }
  | { kind: 'git'; url: string }
  | { kind: 'ssh'; host: string; path: string };

/** A credential that may not be used where a manifest asks. @internal */
export class CredentialRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CredentialRefusedError';
  }
}

function parseHostBinding(raw: string, where: string): HostBinding {
  const value = raw.trim();
  if (value === '' || value.includes('://') || /[\s@?#]/.test(value)) {
    throw new Error(
      `${where}: '${raw}' is not a host entry; write host[:port] optionally followed by /path/prefix, without a scheme`,
    );
  }
  const slash = value.indexOf('/');
  const host = (slash < 0 ? value : value.slice(0, slash)).toLocaleLowerCase(
    'en-US',
  );
  const path =
    slash < 0
      ? ''
      : value
          .slice(slash + 1)
          .replace(/^\/+|\/+$/g, '')
          .replace(/\.git$/, '');
  if (
    !/^(\*\.)?[a-z0-9.-]+(:\d{1,5})?$|^\[[0-9a-f:.]+\](:\d{1,5})?$/.test(host)
  ) {
    throw new Error(
      `${where}: '${raw}' does not start with a valid host[:port]`,
    );
  }
  if (path.split('/').some(segment => segment === '.' || segment === '..')) {
    throw new Error(`${where}: '${raw}' has a '.' or '..' path segment`);
  }
  return { host, path };
}

/** Whether `path` (no leading `/`) is `prefix` or under it, segment by segment. */
function underPrefix(path: string, prefix: string): boolean {
  return prefix === '' || path === prefix || path.startsWith(`${prefix}/`);
}

/**
 * The credentials that manifests name with `secretRef.name` / `certSecretRef.name`, from
 * `imageAutomation.credentials` in app-config. A manifest never carries a secret itself, and it
 * cannot take a credential anywhere the platform team did not say:
 * - `allowedEntities` lists the entities that may use it; without it nobody may;
 * - `hosts` lists where it may be sent (`host[:port]` and an optional repository path prefix);
 *   without it, nowhere; plain HTTP only to hosts in `imageAutomation.registry.insecureHosts`
 *   (registries) — Git over HTTP is refused before any credential is looked up unless the host is
 *   in `imageAutomation.git.insecureHosts`;
 * - a credential a Kubernetes cluster uses (`imageAutomation.kubernetes.clusters[].credential`)
 *   is reserved for that cluster and cannot be named by a manifest at all.
 * @internal
 */
export class NamedCredentials {
  static fromConfig(config: Config): NamedCredentials {
    const entries = new Map<string, NamedCredential>();
    const clusters = new Map<string, string>();
    for (const c of config.getOptionalConfigArray(
      'imageAutomation.kubernetes.clusters',
    ) ?? []) {
      const credential = c.getOptionalString('credential');
      if (credential) clusters.set(credential, c.getString('name'));
    }
    const section = config.getOptionalConfig('imageAutomation.credentials');
    for (const name of section?.keys() ?? []) {
      const c = section!.getConfig(name);
      const type = c.getString('type');
      let credentials: RegistryCredentials | undefined;
      let tls: RegistryTls | undefined;
      let githubApp: GitHubAppCredential | undefined;
      let sshKey: SshKeyCredential | undefined;
      if (type === 'githubApp') {
        const text = (key: string) => {
          const value = c.getOptional(key);
          return value === undefined || value === null || value === ''
            ? undefined
            : String(value);
        };
        const appId = text('appId');
        const installationId = text('installationId');
        const installationOwner = text('installationOwner');
        if (!appId)
          throw new Error(
            `imageAutomation.credentials.${name}: a githubApp credential needs appId`,
          );
        if (!installationId === !installationOwner) {
          throw new Error(
            `imageAutomation.credentials.${name}: a githubApp credential needs exactly one of installationId and installationOwner`,
          );
        }
        githubApp = {
          name,
          appId,
          installationId,
          installationOwner,
          privateKey: c.getString('privateKey'),
          baseUrl: text('baseUrl'),
        };
      } else if (type === 'clientCertificate') {
        // A Kubernetes client certificate (imageAutomation.kubernetes reads it); no registry use.
      } else if (type === 'tls') {
        tls = {
          ca: c.getOptionalString('ca'),
          cert: c.getOptionalString('cert'),
          key: c.getOptionalString('key'),
        };
        if (!!tls.cert !== !!tls.key) {
          throw new Error(
            `imageAutomation.credentials.${name}: cert and key go together`,
          );
        }
      } else if (type === 'basic') {
        credentials = {
          type,
          username: c.getString('username'),
          password: c.getString('password'),
        };
      } else if (type === 'token') {
        // A webhook credential may carry only its (secret) address.
        const address = c.getOptionalString('address');
        credentials = {
          type,
          token: address
            ? c.getOptionalString('token') ?? ''
            : c.getString('token'),
        };
      } else if (type === 'sshKey') {
        sshKey = readSshKey(c, name);
      } else if (type === 'dockerConfigJson') {
        credentials = {
          type,
          dockerConfigJson: c.getString('dockerConfigJson'),
        };
      } else {
        throw new Error(
          `imageAutomation.credentials.${name}.type must be one of basic, token, dockerConfigJson, tls, clientCertificate, githubApp, sshKey; got '${type}'`,
        );
      }
      entries.set(name, {
        credentials,
        tls,
        allowedEntities: c
          .getOptionalStringArray('allowedEntities')
          ?.map(ref => ref.toLocaleLowerCase('en-US')),
        hosts: (c.getOptionalStringArray('hosts') ?? []).map(h =>
          parseHostBinding(h, `imageAutomation.credentials.${name}.hosts`),
        ),
        cluster: clusters.get(name),
        address: type === 'token' ? c.getOptionalString('address') : undefined,
        githubApp,
        sshKey,
      });
    }
    return new NamedCredentials(
      entries,
      config.getOptionalStringArray('imageAutomation.registry.insecureHosts') ??
        [],
    );
  }

  private constructor(
    private readonly entries: Map<string, NamedCredential>,
    private readonly registryInsecureHosts: string[],
  ) {}

  /**
   * The credential called `name` (a manifest's `secretRef.name`) for an object owned by
   * `entityRef`, to be sent to `target`; throws a {@link CredentialRefusedError} with a message
   * fit for a condition (never containing the secret) when it is missing, of another type, not
   * granted to the entity, or not bound to the target.
   */
  resolve(
    name: string,
    entityRef: string | undefined,
    target: CredentialTarget,
  ): RegistryCredentials {
    const credentials = this.entry(name, entityRef, target).credentials;
    if (!credentials) {
      throw new CredentialRefusedError(
        `credential '${name}' is of another type; secretRef needs basic, token or dockerConfigJson`,
      );
    }
    return credentials;
  }

  /**
   * The deploy key `name` names (a GitRepository's `secretRef` on an SSH URL), checked as
   * {@link resolve}: granted to the entity and bound to the SSH host (`host[:port]`) and path.
   */
  resolveSshKey(
    name: string,
    entityRef: string | undefined,
    target: { kind: 'ssh'; host: string; path: string },
  ): SshKeyCredential {
    const entry = this.entry(name, entityRef, target);
    if (!entry.sshKey) {
      throw new CredentialRefusedError(
        `credential '${name}' is not of type sshKey, as an SSH Git URL needs (a deploy key with knownHosts)`,
      );
    }
    return entry.sshKey;
  }

  /**
   * The GitHub App installation credential `name` names, checked as {@link resolve} (granted to
   * the entity, bound to `target`: the repository the installation token will be sent for);
   * `undefined` when the credential is of another type (then {@link resolve} says what it is).
   */
  resolveGitHubApp(
    name: string,
    entityRef: string | undefined,
    target: CredentialTarget,
  ): GitHubAppCredential | undefined {
    return this.entry(name, entityRef, target).githubApp;
  }

  /** The TLS material called `name` (a manifest's `certSecretRef.name`), checked as {@link resolve}. */
  resolveTls(
    name: string,
    entityRef: string | undefined,
    target: CredentialTarget,
  ): RegistryTls {
    const tls = this.entry(name, entityRef, target).tls;
    if (!tls) {
      throw new CredentialRefusedError(
        `credential '${name}' is not of type tls, as certSecretRef needs`,
      );
    }
    return tls;
  }

  /**
   * The token and address a notification Provider gets from credential `name` (its `secretRef`),
   * checked as {@link resolve}. The address is the credential's own `address` when it has one
   * (a secret: only its scheme and host are checked against `hosts` and named in messages),
   * else `specAddress`.
   */
  resolveNotification(
    name: string,
    entityRef: string | undefined,
    specAddress: string | undefined,
    /** Where requests for `address` really go (e.g. a GitHub repository's API host), when not there. */
    destination: (address: string) => string = address => address,
  ): { token?: string; address?: string; addressIsSecret: boolean } {
    const own = this.entries.get(name)?.address;
    const address = own ?? specAddress;
    // Nowhere to send it: the caller reports the missing address; nothing is resolved.
    if (!address) return { addressIsSecret: false };
    let target: string;
    try {
      target = destination(address);
      if (own) {
        const url = new URL(target);
        target = `${url.protocol}//${url.host}/`;
      }
    } catch {
      throw new CredentialRefusedError(
        own
          ? `credential '${name}' has an address that is not a valid URL`
          : `credential '${name}' may not be sent to an invalid URL`,
      );
    }
    const credentials = this.entry(name, entityRef, {
      kind: 'git',
      url: target,
    }).credentials;
    if (credentials?.type !== 'token') {
      throw new CredentialRefusedError(
        `credential '${name}' is not of type token, as a Provider's secretRef needs`,
      );
    }
    return {
      token: credentials.token || undefined,
      address,
      addressIsSecret: own !== undefined,
    };
  }

  /**
   * The `host[:port]` patterns credential `name` is bound to: where a registry's token realm may
   * be when the credential is sent to it.
   */
  /**
   * Whether credentials may be sent to registry `host` over plain HTTP (it is in
   * `imageAutomation.registry.insecureHosts`); the registry client refuses otherwise, once it
   * knows the registry speaks no TLS.
   */
  plainHttpAllowed(host: string): boolean {
    return isHostAllowed(host, this.registryInsecureHosts);
  }

  boundHosts(name: string): string[] {
    return [...new Set(this.entries.get(name)?.hosts.map(h => h.host) ?? [])];
  }

  /**
   * The token of credential `name` (type `token`) for a Receiver owned by `entityRef`, to verify
   * webhook calls with: never sent anywhere, so `hosts` does not apply; checked as {@link resolve}
   * otherwise (defined, not reserved for a cluster, granted to the entity).
   */
  resolveWebhookToken(name: string, entityRef: string | undefined): string {
    const credentials = this.granted(name, entityRef).credentials;
    if (credentials?.type !== 'token' || !credentials.token) {
      throw new CredentialRefusedError(
        `credential '${name}' is not of type token, as a Receiver's secretRef needs`,
      );
    }
    return credentials.token;
  }

  private granted(
    name: string,
    entityRef: string | undefined,
  ): NamedCredential {
    const entry = this.entries.get(name);
    if (!entry) {
      throw new CredentialRefusedError(
        `credential '${name}' is not defined in imageAutomation.credentials`,
      );
    }
    if (entry.cluster !== undefined) {
      throw new CredentialRefusedError(
        `credential '${name}' is reserved for Kubernetes cluster '${entry.cluster}' (imageAutomation.kubernetes.clusters) and cannot be named by a manifest`,
      );
    }
    const who = entityRef ?? 'objects without an entity';
    const ref = entityRef?.toLocaleLowerCase('en-US');
    if (!entry.allowedEntities) {
      throw new CredentialRefusedError(
        `credential '${name}' is not granted to ${who}: imageAutomation.credentials.${name}.allowedEntities is not set, so no entity may use it`,
      );
    }
    if (!ref || !entry.allowedEntities.includes(ref)) {
      throw new CredentialRefusedError(
        `credential '${name}' is not granted to ${who} (imageAutomation.credentials.${name}.allowedEntities)`,
      );
    }
    return entry;
  }

  private entry(
    name: string,
    entityRef: string | undefined,
    target: CredentialTarget,
  ): NamedCredential {
    const entry = this.granted(name, entityRef);
    let host: string;
    let path: string;
    if (target.kind === 'ssh') {
      host = target.host.toLocaleLowerCase('en-US');
      path = target.path;
    } else if (target.kind === 'registry') {
      host = target.host.toLocaleLowerCase('en-US');
      path = target.repository;
    } else {
      let url: URL;
      try {
        url = new URL(target.url);
      } catch {
        throw new CredentialRefusedError(
          `credential '${name}' may not be sent to an invalid URL`,
        );
      }
      host = url.host.toLocaleLowerCase('en-US');
      // The URL parser has resolved dot segments; encoded separators or dots could still be
      // decoded by the server into another repository, so they are refused.
      if (/%2e|%2f|%5c|\\/i.test(url.pathname)) {
        throw new CredentialRefusedError(
          `credential '${name}' may not be sent to ${host}${url.pathname}: the path has encoded '.', '/' or '\\'`,
        );
      }
      path = url.pathname.replace(/^\/+|\/+$/g, '').replace(/\.git$/, '');
    }
    const where = `${host}/${path}`;
    if (entry.hosts.length === 0) {
      throw new CredentialRefusedError(
        `credential '${name}' may not be sent to ${where}: imageAutomation.credentials.${name}.hosts is not set, so it may be sent nowhere`,
      );
    }
    if (
      !entry.hosts.some(
        b => isHostAllowed(host, [b.host]) && underPrefix(path, b.path),
      )
    ) {
      throw new CredentialRefusedError(
        `credential '${name}' may not be sent to ${where}: it is bound to ${entry.hosts
          .map(b => (b.path ? `${b.host}/${b.path}` : b.host))
          .join(', ')} (imageAutomation.credentials.${name}.hosts)`,
      );
    }
    return entry;
  }
}
