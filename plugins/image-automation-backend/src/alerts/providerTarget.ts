import { Config } from '@backstage/config';
import {
  CredentialRefusedError,
  NamedCredentials,
} from '../credentials/NamedCredentials';
import { isHostAllowed } from '../registry/allowedHosts';
import { StoredObject } from '../store/ObjectStore';
import { parseGoDuration } from '../golib/time';
import { gitlabBindingUrl, gitlabDestination } from './gitlab';

/** `imageAutomation.notifications` (config.d.ts). @internal */
export interface NotificationSettings {
  allowedHosts: string[];
  insecureHosts: string[];
  attempts: number;
  retryMinMs: number;
  retryMaxMs: number;
  rateLimitMs: number;
  queueSize: number;
}

/** Reads `imageAutomation.notifications`; everything fails closed (no hosts, no plain HTTP). @internal */
export function readNotificationSettings(config: Config): NotificationSettings {
  const c = config.getOptionalConfig('imageAutomation.notifications');
  return {
    allowedHosts: c?.getOptionalStringArray('allowedHosts') ?? [],
    insecureHosts: c?.getOptionalStringArray('insecureHosts') ?? [],
    attempts: Math.max(1, c?.getOptionalNumber('attempts') ?? 5),
    retryMinMs: (c?.getOptionalNumber('retryMinSeconds') ?? 2) * 1000,
    retryMaxMs: (c?.getOptionalNumber('retryMaxSeconds') ?? 30) * 1000,
    rateLimitMs: (c?.getOptionalNumber('rateLimitSeconds') ?? 300) * 1000,
    queueSize: c?.getOptionalNumber('queueSize') ?? 1000,
  };
}

/** A Provider spec (notification.toolkit.fluxcd.io/v1beta3). @internal */
export interface ProviderSpec {
  type: string;
  address?: string;
  channel?: string;
  username?: string;
  timeout?: string;
  proxy?: string;
  secretRef?: { name: string };
  certSecretRef?: { name: string };
  suspend?: boolean;
}

/** Where and how a Provider sends, resolved; never shown (it may hold secrets). @internal */
export interface ProviderTarget {
  type: string;
  url: URL;
  channel?: string;
  username?: string;
  token?: string;
  ca?: string;
  cert?: string;
  key?: string;
  timeoutMs: number;
  /** `spec.proxy`: the HTTP(S) proxy requests go through (a CONNECT tunnel for https addresses). */
  proxy?: URL;
  /** Strings masked in any message about a delivery: the token, and a secret address. */
  secrets: string[];
}

/** Why a Provider cannot send: a condition reason and a message without secrets. @internal */
export class ProviderRefusedError extends Error {
  constructor(readonly reason: string, message: string) {
    super(message);
    this.name = 'ProviderRefusedError';
  }
}

const DEFAULT_TIMEOUT_MS = 15_000;

/**
 * Where a Provider's requests go: its address, except for `githubdispatch`, whose address is a
 * repository (`https://github.com/owner/repo`) and whose requests go to GitHub's API
 * (`https://api.github.com/repos/owner/repo/dispatches`, `<origin>/api/v3/…` for GitHub
 * Enterprise), and `gitlab`, whose address is a project and whose requests all go below
 * `<origin>/api/v4/projects/<escaped project path>` (see gitlab.ts). Host checks and credential
 * bindings apply to this destination.
 * @internal
 */
export function destination(type: string, address: string): string {
  if (type === 'gitlab') {
    try {
      return gitlabDestination(address);
    } catch (error) {
      throw new ProviderRefusedError(
        'InvalidProvider',
        (error as Error).message,
      );
    }
  }
  if (type !== 'githubdispatch') return address;
  const url = new URL(address);
  const parts = url.pathname
    .replace(/^\/+|\/+$/g, '')
    .replace(/\.git$/, '')
    .split('/');
  if (
    parts.length !== 2 ||
    parts.some(p => !/^[A-Za-z0-9_.-]+$/.test(p) || p === '.' || p === '..')
  ) {
    throw new ProviderRefusedError(
      'InvalidProvider',
      `invalid repository id '${parts.join(
        '/',
      )}': the address must be https://<host>/<owner>/<repository>`,
    );
  }
  const base =
    url.host === 'github.com'
      ? 'https://api.github.com'
      : `${url.protocol}//${url.host}/api/v3`;
  return `${base}/repos/${parts[0]}/${parts[1]}/dispatches`;
}

/**
 * `spec.proxy`, checked like an address: a proxy is one more host notifications go through, so it
 * must be in `notifications.allowedHosts` too. An https:// address is tunnelled (CONNECT) and stays
 * encrypted end to end; a plain-HTTP address through a proxy needs the address's host in
 * `insecureHosts` as it does without one. Proxy credentials in the URL are not accepted (they
 * would show in the manifest).
 */
function proxyUrl(text: string, settings: NotificationSettings): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ProviderRefusedError(
      'InvalidProvider',
      `invalid spec.proxy '${text}'`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ProviderRefusedError(
      'InvalidProvider',
      `spec.proxy must be an http:// or https:// URL (got ${url.protocol})`,
    );
  }
  if (url.username || url.password) {
    throw new ProviderRefusedError(
      'InvalidProvider',
      'spec.proxy may not carry a user name or password',
    );
  }
  if (!isHostAllowed(url.host, settings.allowedHosts)) {
    throw new ProviderRefusedError(
      'HostNotAllowed',
      `proxy host '${url.host}' is not allowed: add it to imageAutomation.notifications.allowedHosts to send notifications through it`,
    );
  }
  return url;
}

/**
 * Resolves a Provider's address (its credential's own `address`, as Flux reads the Secret's
 * `address` key, else `spec.address`), token and CA, refusing — before anything is sent — an
 * address outside `notifications.allowedHosts`, plain HTTP to a host not in
 * `notifications.insecureHosts`, and a credential not granted to the Provider's entity or not
 * bound to the address's host. Messages name hosts, never a secret address's path or a token.
 * @internal
 */
export function resolveProviderTarget(
  provider: StoredObject,
  credentials: NamedCredentials,
  settings: NotificationSettings,
): ProviderTarget {
  const spec = provider.manifest.spec as unknown as ProviderSpec;
  let token: string | undefined;
  let address = spec.address?.trim() || undefined;
  let addressIsSecret = false;
  if (address) {
    // A malformed repository id is reported as such, before the credential is looked at.
    try {
      destination(spec.type, address);
    } catch (error) {
      if (error instanceof ProviderRefusedError) throw error;
    }
  }
  if (spec.secretRef) {
    try {
      const resolved = credentials.resolveNotification(
        spec.secretRef.name,
        provider.entityRef,
        address,
        a =>
          spec.type === 'gitlab'
            ? gitlabBindingUrl(a)
            : destination(spec.type, a),
      );
      token = resolved.token;
      address = resolved.address?.trim() || undefined;
      addressIsSecret = resolved.addressIsSecret;
    } catch (error) {
      if (error instanceof CredentialRefusedError)
        throw new ProviderRefusedError('CredentialRefused', error.message);
      throw error;
    }
  }
  if (!address) {
    throw new ProviderRefusedError(
      'InvalidProvider',
      'provider has no address: set spec.address, or an address on the credential spec.secretRef names',
    );
  }
  let url: URL;
  try {
    url = new URL(destination(spec.type, address));
  } catch (error) {
    // A secret address is never quoted, not even in the reason it cannot be used.
    if (error instanceof ProviderRefusedError && !addressIsSecret) throw error;
    throw new ProviderRefusedError(
      'InvalidProvider',
      addressIsSecret
        ? `the address of credential '${
            spec.secretRef!.name
          }' is not a valid URL`
        : `invalid address '${address}'`,
    );
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new ProviderRefusedError(
      'InvalidProvider',
      `the address must be https:// (got ${url.protocol})`,
    );
  }
  if (url.username || url.password) {
    throw new ProviderRefusedError(
      'InvalidProvider',
      'the address may not carry a user name or password; use spec.secretRef',
    );
  }
  if (!isHostAllowed(url.host, settings.allowedHosts)) {
    throw new ProviderRefusedError(
      'HostNotAllowed',
      `host '${url.host}' is not allowed: add it to imageAutomation.notifications.allowedHosts to send notifications there`,
    );
  }
  if (
    url.protocol === 'http:' &&
    !isHostAllowed(url.host, settings.insecureHosts)
  ) {
    throw new ProviderRefusedError(
      'InsecureAddress',
      `notifications to '${url.host}' must use https:// (plain HTTP only to imageAutomation.notifications.insecureHosts)`,
    );
  }
  let tls: { ca?: string; cert?: string; key?: string } = {};
  if (spec.certSecretRef) {
    try {
      // Checked against the origin only: the path of a secret address stays out of messages.
      tls = credentials.resolveTls(
        spec.certSecretRef.name,
        provider.entityRef,
        { kind: 'git', url: `${url.protocol}//${url.host}/` },
      );
    } catch (error) {
      if (error instanceof CredentialRefusedError)
        throw new ProviderRefusedError('CredentialRefused', error.message);
      throw error;
    }
  }
  if (spec.type === 'githubdispatch' && !token) {
    throw new ProviderRefusedError(
      'InvalidProvider',
      'github token cannot be empty: set spec.secretRef to a token credential',
    );
  }
  if (spec.type === 'gitlab' && !token) {
    throw new ProviderRefusedError(
      'InvalidProvider',
      'gitlab token cannot be empty: set spec.secretRef to a token credential',
    );
  }
  if (spec.type === 'generic-hmac' && !token) {
    throw new ProviderRefusedError(
      'InvalidProvider',
      'generic-hmac needs spec.secretRef naming a token credential (the HMAC key)',
    );
  }
  const proxy = spec.proxy?.trim()
    ? proxyUrl(spec.proxy.trim(), settings)
    : undefined;
  const timeoutMs = spec.timeout
    ? parseGoDuration(spec.timeout)
    : DEFAULT_TIMEOUT_MS;
  return {
    ...(proxy ? { proxy } : {}),
    type: spec.type,
    url,
    channel: spec.channel || undefined,
    username: spec.username || undefined,
    token,
    ...tls,
    timeoutMs,
    // A secret address's path also as GitLab's errors quote it (unescaped: `group/project`).
    secrets: [
      token,
      ...(addressIsSecret
        ? [address, url.pathname, safeDecode(url.pathname)]
        : []),
    ].filter((s): s is string => !!s && s.length >= 4 && s !== '/'),
  };
}

function safeDecode(path: string): string | undefined {
  try {
    return decodeURIComponent(path);
  } catch {
    return undefined;
  }
}

/** `message` with every secret replaced by `*****` (as Flux's masktoken does for the token). @internal */
export function maskSecrets(message: string, secrets: string[]): string {
  let masked = message;
  for (const secret of secrets) masked = masked.split(secret).join('*****');
  return masked;
}
