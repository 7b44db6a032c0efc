import { CredentialRefusedError } from '../../credentials/NamedCredentials';
import {
  integrationReadAllowed,
  readGitAccessSettings,
} from '../../git/gitAccess';
import { integrationGitAuthFromConfig } from '../../git/integrationGitAuth';
import {
  SourceHttpError,
  SourceNotAllowedError,
  sourceCredential,
  sourceTls,
} from './http';
import { RegistryTls } from '../../registry/RegistryClient';
import { InputSourceContext, InputSourceResult } from './types';

/**
 * What the GitHub and GitLab sources share: the repository URL of `spec.url`, the token a call
 * uses (a named credential, else Backstage's integration token where `imageAutomation.git`
 * allows it, else none), and the condition a failure becomes.
 */

/** A bad `spec.url` or other spec field: Stalled `InvalidSpec`. @internal */
export class ForgeSpecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ForgeSpecError';
  }
}

/** A credential refused for the `secretRef`/`certSecretRef` called `secret`. */
class SecretRefusedError extends CredentialRefusedError {
  constructor(readonly secret: string, message: string) {
    super(message);
  }
}

/** Runs `resolve`, naming `secret` in a refusal. @internal */
export function forSecret<T>(secret: string, resolve: () => T): T {
  try {
    return resolve();
  } catch (error) {
    if (
      error instanceof CredentialRefusedError &&
      !(error instanceof SecretRefusedError)
    ) {
      throw new SecretRefusedError(secret, error.message);
    }
    throw error;
  }
}

/** `spec.certSecretRef`'s TLS material for calls about `repository` (granted and bound), if any. @internal */
export function forgeTls(
  context: InputSourceContext,
  repository: string,
): RegistryTls | undefined {
  const name = context.spec.certSecretRef?.name;
  return name
    ? forSecret(name, () => sourceTls(context, repository))
    : undefined;
}

/**
 * `spec.url` as a repository URL: `http(s)://host[:port]/<path>` without credentials, query or
 * fragment, `.git` and trailing `/` removed; `segments` are the path's segments (at least
 * `minSegments`, at most `maxSegments`).
 * @internal
 */
export function repositoryUrl(
  spec: { url?: string },
  forge: string,
  segments: { min: number; max: number },
): { url: URL; repository: string; path: string[] } {
  const raw = spec.url ?? '';
  const shape =
    segments.max === 2 ? '<owner>/<repository>' : '<group>/…/<project>';
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ForgeSpecError(
      `invalid spec.url '${raw}': a ${forge} repository URL is https://<host>/${shape}`,
    );
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new ForgeSpecError(
      `invalid spec.url '${raw}': a ${forge} repository URL is https://<host>/${shape}`,
    );
  }
  if (url.username || url.password) {
    throw new ForgeSpecError(
      `invalid spec.url: credentials in the URL are not allowed; use spec.secretRef`,
    );
  }
  const path = url.pathname
    .replace(/^\/+|\/+$/g, '')
    .replace(/\.git$/, '')
    .split('/')
    .filter(Boolean);
  if (
    url.search ||
    url.hash ||
    path.length < segments.min ||
    path.length > segments.max ||
    path.some(
      s => s === '.' || s === '..' || s === '-' || /%2e|%2f|%5c|\\/i.test(s),
    )
  ) {
    throw new ForgeSpecError(
      `invalid spec.url '${raw}': a ${forge} repository URL is https://<host>/${shape}`,
    );
  }
  return {
    url,
    repository: `${url.protocol}//${url.host}/${path.join('/')}`,
    path,
  };
}

/**
 * The token for a call about `repository`: `spec.secretRef`'s `token` credential or a `basic`
 * one's password (as the Flux Operator uses it), granted to the entity and bound to the
 * repository; without `secretRef`, the token of Backstage's `integrations` for the repository's
 * host only when `imageAutomation.git.integrationRead`/`integrationPush` lists the repository;
 * otherwise none (anonymous).
 * @internal
 */
export async function forgeToken(
  context: InputSourceContext,
  repository: string,
): Promise<string | undefined> {
  const name = context.spec.secretRef?.name;
  if (name) {
    const credential = forSecret(name, () =>
      sourceCredential(context, repository),
    );
    if (credential?.type === 'token') return credential.token;
    if (credential?.type === 'basic') return credential.password;
    throw new SecretRefusedError(
      name,
      `credential '${name}' is of type dockerConfigJson; a Git provider needs basic, token${
        context.spec.type.startsWith('GitHub') ? ' or githubApp' : ''
      }`,
    );
  }
  if (
    !integrationReadAllowed(repository, readGitAccessSettings(context.config))
  )
    return undefined;
  const auth = await integrationGitAuthFromConfig(context.config)(repository);
  if (auth?.type === 'basic') return auth.password;
  if (auth?.type === 'bearer') return auth.token;
  return undefined;
}

/**
 * The condition a failed forge call becomes: a refused host or scheme, and a refused credential,
 * are configuration errors (Stalled); a bad answer is Ready=False, `failed to call Git provider: …`,
 * retried, after the wait a rate limit asked for.
 * @internal
 */
export function forgeFailure(
  context: InputSourceContext,
  error: unknown,
): InputSourceResult {
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof ForgeSpecError)
    return { ok: false, terminal: true, reason: 'InvalidSpec', message };
  if (error instanceof SourceNotAllowedError)
    return { ok: false, terminal: true, reason: 'HostNotAllowed', message };
  if (error instanceof CredentialRefusedError) {
    const name =
      error instanceof SecretRefusedError
        ? error.secret
        : context.spec.secretRef?.name ?? context.spec.certSecretRef?.name;
    return {
      ok: false,
      terminal: true,
      reason: 'CredentialRefused',
      message: name
        ? `failed to read secret '${context.provider.namespace}/${name}': ${message}`
        : message,
    };
  }
  return {
    ok: false,
    terminal: false,
    reason: 'ReconciliationFailed',
    message: `failed to call Git provider: ${message}`,
    ...(error instanceof SourceHttpError && error.retryAfterMs !== undefined
      ? { retryAfterMs: error.retryAfterMs }
      : {}),
  };
}
