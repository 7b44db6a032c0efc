import crypto from 'node:crypto';
import {
  CredentialRefusedError,
  GitHubAppCredential,
} from '../../credentials/NamedCredentials';
import { ExportedInput } from '../exportedInputs';
import {
  branchInputs,
  enoughBranches,
  enoughPullRequests,
  filterProblem,
  FORGE_MAX_PAGES,
  FORGE_PAGE_SIZE,
  GitRefItem,
  pullRequestInputs,
  PullRequestItem,
  tagInputs,
} from './forge';
import {
  ForgeSpecError,
  forgeFailure,
  forgeTls,
  forgeToken,
  forSecret,
  repositoryUrl,
} from './forgeCall';
import {
  checkSourceUrl,
  createSourceHttp,
  SourceHttp,
  SourceHttpError,
} from './http';
import { InputSource, InputSourceContext } from './types';

/**
 * `GitHubBranch`, `GitHubTag` and `GitHubPullRequest`: GitHub's REST API (v3) at
 * `https://api.github.com` for github.com repositories, `https://<host>/api/v3` for GitHub
 * Enterprise Server, derived from `spec.url` and nothing else. Requests go only to that origin
 * (page links included) and only when its host is in `imageAutomation.inputProviders.allowedHosts`.
 */

const API_HEADERS = {
  accept: 'application/vnd.github+json',
  'x-github-api-version': '2022-11-28',
};

/** The REST API base of a GitHub repository URL's host. @internal */
export function githubApiBase(url: URL): string {
  const host = url.host.toLocaleLowerCase('en-US');
  if (host === 'github.com' || host === 'www.github.com')
    return 'https://api.github.com';
  return `${url.protocol}//${url.host}/api/v3`;
}

/** The `rel="next"` target of a `Link` header, if any. @internal */
export function nextLink(
  header: string | string[] | undefined,
): string | undefined {
  const value = Array.isArray(header) ? header.join(',') : header;
  if (!value) return undefined;
  for (const part of value.split(',')) {
    const match = /^\s*<([^>]*)>\s*;(.*)$/.exec(part);
    if (
      match &&
      /(^|;)\s*rel="?([^";]*\s)?next(\s[^";]*)?"?\s*(;|$)/.test(match[2])
    )
      return match[1];
  }
  return undefined;
}

/**
 * Reads a GitHub listing from `first` (which asks for {@link FORGE_PAGE_SIZE} items a page),
 * following `Link: <…>; rel="next"` while it stays on `origin`, at most {@link FORGE_MAX_PAGES}
 * pages, until `done(itemsSoFar)` says stop.
 */
async function githubPages<T>(
  client: SourceHttp,
  first: string,
  headers: Record<string, string>,
  done?: (items: readonly T[]) => boolean,
): Promise<T[]> {
  const origin = new URL(first).origin;
  const all: T[] = [];
  let url = first;
  for (let page = 1; page <= FORGE_MAX_PAGES; page++) {
    const response = await client.getJson<T[]>(url, { headers });
    if (!Array.isArray(response.body)) {
      throw new SourceHttpError(
        `GitHub: GET ${url.replace(/\?.*$/, '')}: the answer is not a list`,
      );
    }
    all.push(...response.body);
    if (done?.(all)) break;
    const next = nextLink(response.headers.link);
    if (!next) break;
    let parsed: URL;
    try {
      parsed = new URL(next, url);
    } catch {
      throw new SourceHttpError(
        `GitHub: GET ${url.replace(
          /\?.*$/,
          '',
        )}: the next page link is not a URL`,
      );
    }
    if (parsed.origin !== origin) {
      throw new SourceHttpError(
        `GitHub: GET ${url.replace(/\?.*$/, '')}: the next page link leads to ${
          parsed.host
        }, off ${origin}`,
      );
    }
    url = parsed.toString();
  }
  return all;
}

// ---- GitHub App installation tokens ---------------------------------------------------------

/** Installation tokens by app, installation and API base, kept until shortly before they expire. */
const appTokens = new Map<
  string,
  Promise<{ token: string; expiresAt: number }>
>();
/** A token is renewed this long before GitHub's `expires_at`. */
const TOKEN_RENEW_MS = 5 * 60_000;

/** Forgets every cached installation token (tests). @internal */
export function clearGitHubAppTokens(): void {
  appTokens.clear();
}

function base64url(data: string | Buffer): string {
  return Buffer.from(data).toString('base64url');
}

/**
 * The app's JSON Web Token (RS256): issued a minute in the past against clock drift, valid nine
 * minutes (GitHub allows ten), `iss` the app id.
 * @internal
 */
export function githubAppJwt(
  app: GitHubAppCredential,
  now: number = Date.now(),
): string {
  let key: crypto.KeyObject;
  try {
    key = crypto.createPrivateKey(app.privateKey);
  } catch {
    throw new CredentialRefusedError(
      `credential '${app.name}': privateKey is not a PEM private key`,
    );
  }
  const seconds = Math.floor(now / 1000);
  const header = base64url(JSON.stringify({ alg: 'RS256', typ: 'JWT' }));
  const payload = base64url(
    JSON.stringify({ iat: seconds - 60, exp: seconds + 540, iss: app.appId }),
  );
  const signature = crypto.sign(
    'RSA-SHA256',
    Buffer.from(`${header}.${payload}`),
    key,
  );
  return `${header}.${payload}.${base64url(signature)}`;
}

async function mintInstallationToken(
  app: GitHubAppCredential,
  client: SourceHttp,
  base: string,
): Promise<{ token: string; expiresAt: number }> {
  const headers = {
    ...API_HEADERS,
    authorization: `Bearer ${githubAppJwt(app)}`,
  };
  let installation = app.installationId;
  if (!installation) {
    const owner = app.installationOwner!.toLocaleLowerCase('en-US');
    const installations = await githubPages<{
      id?: number;
      account?: { login?: string };
    }>(
      client,
      `${base}/app/installations?per_page=${FORGE_PAGE_SIZE}`,
      headers,
      items =>
        items.some(i => i.account?.login?.toLocaleLowerCase('en-US') === owner),
    );
    const found = installations.find(
      i => i.account?.login?.toLocaleLowerCase('en-US') === owner,
    );
    if (!found?.id) {
      throw new SourceHttpError(
        `GitHub App ${app.appId} has no installation on '${app.installationOwner}'`,
      );
    }
    installation = String(found.id);
  }
  if (!/^\d+$/.test(installation)) {
    throw new CredentialRefusedError(
      `credential '${app.name}': installationId must be a number`,
    );
  }
  const response = await client.postJson<{
    token?: unknown;
    expires_at?: unknown;
  }>(`${base}/app/installations/${installation}/access_tokens`, { headers });
  const token = response.body?.token;
  if (typeof token !== 'string' || token === '') {
    throw new SourceHttpError(
      `GitHub: POST ${base}/app/installations/${installation}/access_tokens: the answer has no token`,
    );
  }
  const expires =
    typeof response.body.expires_at === 'string'
      ? Date.parse(response.body.expires_at)
      : NaN;
  // Without an expiry, GitHub's documented hour.
  return {
    token,
    expiresAt: Number.isNaN(expires) ? Date.now() + 3_600_000 : expires,
  };
}

/**
 * An installation token of `app`, minted at `app.baseUrl` (else `apiBase`) with the app's JWT
 * (`POST /app/installations/{id}/access_tokens`; by owner, the installation is found in
 * `GET /app/installations` first), cached until five minutes before it expires.
 * @internal
 */
export async function githubAppToken(
  app: GitHubAppCredential,
  client: SourceHttp,
  apiBase: string,
): Promise<string> {
  const base = (app.baseUrl ?? apiBase).replace(/\/+$/, '');
  const key = JSON.stringify([
    app.name,
    app.appId,
    app.installationId ?? '',
    app.installationOwner ?? '',
    base,
  ]);
  let entry = appTokens.get(key);
  if (entry) {
    const cached = await entry.catch(() => undefined);
    if (!cached || cached.expiresAt - TOKEN_RENEW_MS <= Date.now()) {
      if (appTokens.get(key) === entry) appTokens.delete(key);
      entry = undefined;
    }
  }
  if (!entry) {
    entry = mintInstallationToken(app, client, base);
    appTokens.set(key, entry);
    entry.catch(() => {
      if (appTokens.get(key) === entry) appTokens.delete(key);
    });
  }
  return (await entry).token;
}

// ---- the source ------------------------------------------------------------------------------

interface GitHubRef {
  name?: string;
  commit?: { sha?: string };
}

interface GitHubPull {
  number?: number;
  title?: string;
  user?: { login?: string } | null;
  head?: { sha?: string; ref?: string };
  labels?: Array<{ name?: string }>;
}

async function githubInputs(
  context: InputSourceContext,
): Promise<ExportedInput[]> {
  const { url, repository, path } = repositoryUrl(context.spec, 'GitHub', {
    min: 2,
    max: 2,
  });
  const apiBase = githubApiBase(url);
  // Refusals before anything is looked up or sent: the API host, then the filter, then the credentials.
  checkSourceUrl(context, apiBase);
  const problem = filterProblem(context.spec.filter);
  if (problem) throw new ForgeSpecError(problem);
  const tls = forgeTls(context, repository);
  const client = createSourceHttp(context, { what: 'GitHub', tls });
  const name = context.spec.secretRef?.name;
  const app = name
    ? forSecret(name, () =>
        context.credentials.resolveGitHubApp(name, context.provider.entityRef, {
          kind: 'git',
          url: repository,
        }),
      )
    : undefined;
  if (app?.baseUrl) checkSourceUrl(context, app.baseUrl);
  const token = app
    ? await githubAppToken(app, client, apiBase)
    : await forgeToken(context, repository);
  const headers: Record<string, string> = {
    ...API_HEADERS,
    ...(token ? { authorization: `Bearer ${token}` } : {}),
  };
  const repo = `${apiBase}/repos/${path.map(encodeURIComponent).join('/')}`;
  const filter = context.spec.filter;

  switch (context.spec.type) {
    case 'GitHubBranch': {
      const listed = await githubPages<GitHubRef>(
        client,
        `${repo}/branches?per_page=${FORGE_PAGE_SIZE}`,
        headers,
        items => enoughBranches(filter, refs(items)),
      );
      return branchInputs(filter, refs(listed));
    }
    case 'GitHubTag': {
      const listed = await githubPages<GitHubRef>(
        client,
        `${repo}/tags?per_page=${FORGE_PAGE_SIZE}`,
        headers,
      );
      return tagInputs(filter, refs(listed));
    }
    default: {
      const listed = await githubPages<GitHubPull>(
        client,
        `${repo}/pulls?state=open&per_page=${FORGE_PAGE_SIZE}`,
        headers,
        items => enoughPullRequests(filter, pulls(items)),
      );
      return pullRequestInputs(context, pulls(listed));
    }
  }
}

function refs(items: readonly GitHubRef[]): GitRefItem[] {
  return items
    .map(item => ({
      name: String(item?.name ?? ''),
      sha: String(item?.commit?.sha ?? ''),
    }))
    .filter(r => r.name);
}

function pulls(items: readonly GitHubPull[]): PullRequestItem[] {
  return items
    .filter(pr => typeof pr?.number === 'number')
    .map(pr => ({
      number: pr.number!,
      sha: String(pr.head?.sha ?? ''),
      branch: String(pr.head?.ref ?? ''),
      author: String(pr.user?.login ?? ''),
      title: String(pr.title ?? ''),
      labels: (pr.labels ?? []).map(l => String(l?.name ?? '')).filter(Boolean),
    }));
}

/** The source of the `GitHub*` types. @internal */
export const githubSource: InputSource = async context => {
  try {
    return { ok: true, inputs: await githubInputs(context) };
  } catch (error) {
    return forgeFailure(context, error);
  }
};
