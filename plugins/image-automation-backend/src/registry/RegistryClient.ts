import crypto from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import tls from 'node:tls';
import { isHostAllowed } from './allowedHosts';
import { AuthChallenge, parseChallenge } from './challenge';
import { DockerConfigAuth, findDockerConfigAuth } from './dockerConfig';
import { describeRequest, HttpResponse, sendRequest } from './httpTransport';
import { BudgetStore, FleetBudget, RequestBudget, Semaphore } from './limits';
import { ImageReference } from './parseImageReference';
import { RegistryError, type RegistryErrorKind } from './RegistryError';
import { redact, responseError, retryAfterMs } from './responseError';

/** Credentials for one registry. @internal */
export type RegistryCredentials =
  | { type: 'basic'; username: string; password: string }
  /** A bearer token: exchanged as an OAuth2 refresh (identity) token at a token realm, else sent as is. */
  | { type: 'token'; token: string }
  /** A docker config JSON, matched against `<registry>/<repository>` as Flux does. */
  | { type: 'dockerConfigJson'; dockerConfigJson: string };

/** TLS material for one call, added to the client's CA and the system trust store. @internal */
export interface RegistryTls {
  ca?: string;
  cert?: string;
  key?: string;
}

/** Options of one {@link RegistryClient} call. @internal */
export interface RegistryCallOptions {
  credentials?: RegistryCredentials;
  /**
   * Hosts (`isHostAllowed` patterns) the credentials are bound to. A token realm on a host other
   * than the registry's own gets the credentials only when it is one of them; when absent, only
   * the registry's own host does.
   */
  credentialHosts?: string[];
  /**
   * Whether the credentials may be sent over plain HTTP (to a registry or token realm that speaks
   * no TLS). Default false: the call fails instead of sending them.
   */
  plainHttpCredentials?: boolean;
  tls?: RegistryTls;
  /** Deadline for the whole call (auth, every page, retries). Default 60 s. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** Retry policy for 5xx, 429 and connection failures. @internal */
export interface RegistryRetryOptions {
  /** Attempts per request, including the first. Default 3. */
  attempts?: number;
  /** First backoff delay, doubled each time, with jitter. Default 200 ms. */
  baseDelayMs?: number;
  /** Longest backoff delay. Default 5 s. */
  maxDelayMs?: number;
  /** Longest `Retry-After` honoured; a longer one fails the call as `rateLimited`. Default 30 s. */
  maxRetryAfterMs?: number;
}

/** The subset of Backstage's `LoggerService` the client uses. @internal */
export interface RegistryLogger {
  debug(message: string, meta?: Record<string, unknown>): void;
  warn(message: string, meta?: Record<string, unknown>): void;
}

/** Options of {@link RegistryClient}. @internal */
export interface RegistryClientOptions {
  /**
   * Hosts that may be contacted (registries, token realms, page links); see `isHostAllowed` (`*`
   * for any, `[]` for none). Default when omitted: any (`['*']`), for trusted local tools such as
   * the benchmarks; the backend plugin always passes `imageAutomation.allowedRegistries`, `[]`
   * when that key is absent.
   */
  allowedHosts?: string[];
  /**
   * `n` of the first tag-list request. Default 1000 (Flux's); some registries reject more than 100.
   * `null` sends no `n`, letting the registry choose (distribution v3 then answers all tags at once).
   */
  pageSize?: number | null;
  /** Most tags a repository may have; more fails the scan as `tagLimit`. Default 100,000. */
  maxTags?: number;
  /** Requests in flight per registry. Default 8. */
  concurrencyPerRegistry?: number;
  /** Requests per interval per registry; a request waits for budget, or fails if it would miss its deadline. */
  requestBudget?: { requests: number; intervalMs: number };
  /**
   * Where the budget is counted for the whole fleet (the database): with it, `requestBudget` is
   * shared by every replica ({@link FleetBudget}); without it, each client has its own.
   */
  budgetStore?: BudgetStore;
  retries?: RegistryRetryOptions;
  /** Extra CA certificate(s) (PEM) trusted for every registry, on top of the system's. */
  ca?: string;
  /** Time limit of one HTTP request. Default 30 s. */
  requestTimeoutMs?: number;
  /** Largest response body read. Default 32 MiB. */
  maxBodyBytes?: number;
  /** Match `docker.io` docker-config keys to `index.docker.io` (Flux does not). Default true. */
  dockerHubAliases?: boolean;
  logger?: RegistryLogger;
  userAgent?: string;
  /**
   * Told of every HTTP request sent (retries and token requests included): the host, and the
   * answer's status or, without an answer, the failure's kind. For metrics; must not throw.
   */
  onRequest?: (request: {
    host: string;
    status?: number;
    errorKind?: RegistryErrorKind;
  }) => void;
  /**
   * Test only, never set from configuration: resolves registry host names (tests point cloud
   * registry names such as `*.azurecr.io` at a local stand-in). Default: the system resolver.
   */
  lookup?: LookupFunction;
}

/** A manifest's identity. @internal */
export interface ManifestDigest {
  digest: string;
  mediaType: string;
}

/** Media types accepted for manifests: without them registries answer 404/400 and HEAD has no digest. @internal */
export const MANIFEST_MEDIA_TYPES = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
];

const TAG_OR_DIGEST =
  /^(?:[\w][\w.-]{0,127}|[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,})$/;
const DEFAULT_TOKEN_LIFETIME_S = 60;
// A token is renewed this long before it expires, so that it does not expire in flight.
const TOKEN_EXPIRY_MARGIN_MS = 5000;

type Auth =
  | { kind: 'anonymous' }
  | { kind: 'basic'; username: string; password: string }
  | { kind: 'identityToken'; token: string; username?: string }
  | { kind: 'registryToken'; token: string };

interface RegistryState {
  semaphore: Semaphore;
  budget?: RequestBudget | FleetBudget;
  /** The last challenge seen, so later calls authenticate up front instead of after a 401. */
  challenge?: AuthChallenge;
}

interface CachedToken {
  token: string;
  expiresAt: number;
}

/** Thrown inside a call when a plain-HTTP registry turns out to speak TLS: the call restarts once over HTTPS. */
class UpgradeToHttps extends Error {}

/** State of one call: its deadline, credentials and request count. */
interface Call {
  ref: ImageReference;
  origin: string;
  auth: Auth;
  /** Distinguishes cached tokens of different credentials. */
  authKey: string;
  secrets: string[];
  credentialHosts: string[];
  plainHttpCredentials: boolean;
  agent: http.Agent;
  tls?: RegistryTls;
  deadline: number;
  signal?: AbortSignal;
  requests: number;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    function onAbort() {
      clearTimeout(timer);
      reject(new RegistryError('aborted', 'request aborted'));
    }
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function basicHeader(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}

/**
 * An OCI distribution client for scanning: lists tags (following `Link` pages) and resolves tags
 * to digests, authenticating as go-containerregistry (and so Flux) does — anonymous, Basic, Bearer
 * tokens from the challenge's realm (anonymous or with credentials, identity tokens) — with
 * per-registry concurrency limits, a request budget, retries and a host allow-list.
 *
 * One client is meant to be shared: it caches tokens per registry, scope and credentials, the
 * last challenge per registry, and connections.
 * @internal
 */
export class RegistryClient {
  private readonly options: Required<
    Pick<
      RegistryClientOptions,
      | 'pageSize'
      | 'maxTags'
      | 'concurrencyPerRegistry'
      | 'requestTimeoutMs'
      | 'maxBodyBytes'
    >
  > &
    RegistryClientOptions;
  private readonly retries: Required<RegistryRetryOptions>;
  private readonly registries = new Map<string, RegistryState>();
  private readonly tokens = new Map<string, CachedToken>();
  private readonly pendingTokens = new Map<string, Promise<CachedToken>>();
  /** Refresh tokens returned by token servers, which replace the identity token they were given for. */
  private readonly refreshTokens = new Map<string, string>();
  private readonly agents = new Map<string, http.Agent>();
  /** Registries parsed as plain HTTP (loopback, RFC 1918, `insecure`) that answered as TLS servers. */
  private readonly httpsRegistries = new Set<string>();

  constructor(options: RegistryClientOptions = {}) {
    this.options = {
      ...options,
      // Explicit `undefined`s (unset config values) take the defaults too.
      allowedHosts: options.allowedHosts ?? ['*'],
      pageSize: options.pageSize === undefined ? 1000 : options.pageSize,
      maxTags: options.maxTags ?? 100_000,
      concurrencyPerRegistry: options.concurrencyPerRegistry ?? 8,
      requestTimeoutMs: options.requestTimeoutMs ?? 30_000,
      maxBodyBytes: options.maxBodyBytes ?? 32 * 1024 * 1024,
    };
    this.retries = {
      attempts: options.retries?.attempts ?? 3,
      baseDelayMs: options.retries?.baseDelayMs ?? 200,
      maxDelayMs: options.retries?.maxDelayMs ?? 5000,
      maxRetryAfterMs: options.retries?.maxRetryAfterMs ?? 30_000,
    };
  }

  /**
   * Lists every tag of the repository, page by page: the first request asks for `pageSize` tags,
   * the next ones follow the `Link` header (resolved against the request URL, same scheme and host
   * only). Tags are returned in the registry's order; `requests` counts every HTTP request made,
   * token requests and retries included.
   */
  async listTags(
    ref: ImageReference,
    options: RegistryCallOptions = {},
  ): Promise<{ tags: string[]; requests: number }> {
    const call = this.startCall(ref, options);
    return this.counted(call, () => this.readTags(call));
  }

  private async readTags(
    call: Call,
  ): Promise<{ tags: string[]; requests: number }> {
    const ref = call.ref;
    const tags: string[] = [];
    const seen = new Set<string>();
    const query =
      this.options.pageSize === null ? '' : `?n=${this.options.pageSize}`;
    let url: URL | undefined = new URL(
      `${call.origin}/v2/${ref.repository}/tags/list${query}`,
    );
    while (url) {
      seen.add(url.toString());
      const response = await this.send(call, 'GET', url, {
        accept: 'application/json',
      });
      if (response.status !== 200) {
        throw responseError('GET', url, response, call.secrets);
      }
      const page = this.parseTagPage(url, response);
      for (const tag of page) {
        tags.push(tag);
      }
      if (tags.length > this.options.maxTags) {
        throw new RegistryError(
          'tagLimit',
          `repository ${ref.canonical} has more than ${this.options.maxTags} tags, the most this scanner is configured to read`,
        );
      }
      url = this.nextPage(url, response, seen);
    }
    return { tags, requests: call.requests };
  }

  /**
   * Resolves a tag (or digest) to the digest and media type of what it points at — for a
   * multi-arch image, the index. Uses HEAD with the full Accept list and `Docker-Content-Digest`;
   * falls back to GET (hashing the body) when the registry does not give the digest on HEAD.
   */
  async getDigest(
    ref: ImageReference,
    tag: string,
    options: RegistryCallOptions = {},
  ): Promise<ManifestDigest> {
    if (!TAG_OR_DIGEST.test(tag)) {
      throw new RegistryError(
        'invalidReference',
        `invalid tag or digest '${tag}' for ${ref.canonical}`,
      );
    }
    const call = this.startCall(ref, options);
    return this.counted(call, () => this.readDigest(call, tag));
  }

  /** Records on a failure how many requests the call made, for scan history. */
  private async counted<T>(call: Call, run: () => Promise<T>): Promise<T> {
    try {
      try {
        return await run();
      } catch (error) {
        if (!(error instanceof UpgradeToHttps)) {
          throw error;
        }
        return await run();
      }
    } catch (error) {
      if (error instanceof RegistryError) {
        error.requests = call.requests;
      }
      throw error;
    }
  }

  private async readDigest(call: Call, tag: string): Promise<ManifestDigest> {
    const url = new URL(
      `${call.origin}/v2/${call.ref.repository}/manifests/${tag}`,
    );
    const accept = { accept: MANIFEST_MEDIA_TYPES.join(', ') };
    const head = await this.send(call, 'HEAD', url, accept);
    const headDigest = head.headers['docker-content-digest'];
    if (
      head.status === 200 &&
      typeof headDigest === 'string' &&
      headDigest !== ''
    ) {
      return {
        digest: headDigest,
        mediaType: String(head.headers['content-type'] ?? '').split(';')[0],
      };
    }
    // GET gives the digest by hashing, and the registry's error text when HEAD failed.
    const get = await this.send(call, 'GET', url, accept);
    if (get.status !== 200) {
      throw responseError('GET', url, get, call.secrets);
    }
    const mediaType = String(get.headers['content-type'] ?? '').split(';')[0];
    const digest = `sha256:${crypto
      .createHash('sha256')
      .update(get.body)
      .digest('hex')}`;
    const declared = get.headers['docker-content-digest'];
    if (
      typeof declared === 'string' &&
      declared.startsWith('sha256:') &&
      declared !== digest
    ) {
      throw new RegistryError(
        'invalidResponse',
        `GET ${url}: manifest digest ${digest} does not match Docker-Content-Digest ${declared}`,
      );
    }
    return {
      digest:
        typeof declared === 'string' && declared !== '' ? declared : digest,
      mediaType,
    };
  }

  private startCall(ref: ImageReference, options: RegistryCallOptions): Call {
    if (!isHostAllowed(ref.registry, this.options.allowedHosts)) {
      throw new RegistryError(
        'hostNotAllowed',
        `registry host ${ref.registry} is not in imageAutomation.allowedRegistries, the registry hosts this backend may contact`,
      );
    }
    const auth = this.resolveAuth(ref, options.credentials);
    const secrets = this.secretsOf(auth);
    return {
      ref,
      // A plain-HTTP registry that turned out to speak TLS is addressed over HTTPS from then on.
      origin: `${
        ref.scheme === 'http' && this.httpsRegistries.has(ref.registry)
          ? 'https'
          : ref.scheme
      }://${ref.registry}`,
      auth,
      authKey: crypto
        .createHash('sha256')
        .update(JSON.stringify(auth))
        .digest('hex')
        .slice(0, 32),
      secrets,
      credentialHosts: options.credentialHosts ?? [],
      plainHttpCredentials: options.plainHttpCredentials === true,
      agent: this.agentFor(
        ref.scheme === 'http' && this.httpsRegistries.has(ref.registry)
          ? 'https'
          : ref.scheme,
        options.tls,
      ),
      tls: options.tls,
      deadline: Date.now() + (options.timeoutMs ?? 60_000),
      signal: options.signal,
      requests: 0,
    };
  }

  private resolveAuth(
    ref: ImageReference,
    credentials: RegistryCredentials | undefined,
  ): Auth {
    if (!credentials) {
      return { kind: 'anonymous' };
    }
    switch (credentials.type) {
      case 'basic':
        return {
          kind: 'basic',
          username: credentials.username,
          password: credentials.password,
        };
      case 'token':
        return { kind: 'identityToken', token: credentials.token };
      case 'dockerConfigJson': {
        let found: DockerConfigAuth | undefined;
        try {
          found = findDockerConfigAuth(credentials.dockerConfigJson, ref, {
            dockerHubAliases: this.options.dockerHubAliases,
          });
        } catch (error) {
          throw new RegistryError('unauthorized', (error as Error).message);
        }
        if (!found) {
          return { kind: 'anonymous' };
        }
        if (found.registryToken) {
          return { kind: 'registryToken', token: found.registryToken };
        }
        if (found.identityToken) {
          return {
            kind: 'identityToken',
            token: found.identityToken,
            username: found.username,
          };
        }
        if (found.username !== undefined || found.password !== undefined) {
          return {
            kind: 'basic',
            username: found.username ?? '',
            password: found.password ?? '',
          };
        }
        return { kind: 'anonymous' };
      }
      default:
        throw new RegistryError('unauthorized', 'unknown credentials type');
    }
  }

  private secretsOf(auth: Auth): string[] {
    switch (auth.kind) {
      case 'basic':
        return [
          auth.password,
          Buffer.from(`${auth.username}:${auth.password}`).toString('base64'),
        ];
      case 'identityToken':
      case 'registryToken':
        return [auth.token];
      default:
        return [];
    }
  }

  private agentFor(
    scheme: 'http' | 'https',
    callTls: RegistryTls | undefined,
  ): http.Agent {
    const ca = [this.options.ca, callTls?.ca].filter((x): x is string => !!x);
    const key = `${scheme}|${crypto
      .createHash('sha256')
      .update(JSON.stringify([ca, callTls?.cert ?? '', callTls?.key ?? '']))
      .digest('hex')}`;
    let agent = this.agents.get(key);
    if (!agent) {
      const common = {
        keepAlive: true,
        maxSockets: this.options.concurrencyPerRegistry,
        ...(this.options.lookup ? { lookup: this.options.lookup } : {}),
      };
      agent =
        scheme === 'https'
          ? new https.Agent({
              ...common,
              // Like Flux (`WithSystemCertPool`): a custom CA is trusted in addition to the system's.
              ca: ca.length > 0 ? [...tls.rootCertificates, ...ca] : undefined,
              cert: callTls?.cert,
              key: callTls?.key,
            })
          : new http.Agent(common);
      this.agents.set(key, agent);
    }
    return agent;
  }

  private registryState(origin: string): RegistryState {
    let state = this.registries.get(origin);
    if (!state) {
      state = {
        semaphore: new Semaphore(this.options.concurrencyPerRegistry),
        budget: this.budgetFor(new URL(origin).host),
      };
      this.registries.set(origin, state);
    }
    return state;
  }

  private budgetFor(host: string): RequestBudget | FleetBudget | undefined {
    const budget = this.options.requestBudget;
    if (!budget) return undefined;
    return this.options.budgetStore
      ? new FleetBudget(
          this.options.budgetStore,
          host,
          budget.requests,
          budget.intervalMs,
        )
      : new RequestBudget(budget.requests, budget.intervalMs);
  }

  private parseTagPage(url: URL, response: HttpResponse): string[] {
    let body: unknown;
    try {
      body = JSON.parse(response.body.toString('utf8'));
    } catch {
      throw new RegistryError(
        'invalidResponse',
        `GET ${url}: the tag list is not valid JSON`,
      );
    }
    const tags = (body as { tags?: unknown } | null)?.tags;
    if (tags === null || tags === undefined) {
      return [];
    }
    if (!Array.isArray(tags) || !tags.every(t => typeof t === 'string')) {
      throw new RegistryError(
        'invalidResponse',
        `GET ${url}: the tag list has no array of strings in "tags"`,
      );
    }
    return tags;
  }

  private nextPage(
    url: URL,
    response: HttpResponse,
    seen: Set<string>,
  ): URL | undefined {
    const link = response.headers.link;
    const value = Array.isArray(link) ? link[0] : link;
    if (!value) {
      return undefined;
    }
    // As go-containerregistry: the URL is whatever lies between the first '<' and the next '>'.
    const start = value.indexOf('<');
    const end = value.indexOf('>', start + 1);
    if (start < 0 || end < 0) {
      throw new RegistryError(
        'invalidResponse',
        `GET ${url}: malformed Link header`,
      );
    }
    let next: URL;
    try {
      next = new URL(value.slice(start + 1, end), url);
    } catch {
      throw new RegistryError(
        'invalidResponse',
        `GET ${url}: malformed Link header`,
      );
    }
    if (next.protocol !== url.protocol || next.host !== url.host) {
      // A misbehaving registry, not a configuration problem: a scan failure, as in Flux.
      throw new RegistryError(
        'invalidResponse',
        'pagination URL host does not match registry host: potential SSRF attack',
      );
    }
    if (seen.has(next.toString())) {
      throw new RegistryError(
        'invalidResponse',
        `GET ${url}: the Link header points at a page already read`,
      );
    }
    return next;
  }

  /**
   * Sends one registry request, authenticating as the registry's challenge asks: up front when
   * the challenge is known, else after the first 401; once more after `insufficient_scope`.
   */
  private async send(
    call: Call,
    method: 'GET' | 'HEAD',
    url: URL,
    headers: Record<string, string>,
  ): Promise<HttpResponse> {
    const state = this.registryState(call.origin);
    const scope = `repository:${call.ref.repository}:pull`;
    let reauthentications = 0;
    let refusedBearer = false;
    for (;;) {
      // A fresh token only when the registry refused the one just sent; otherwise a cached or
      // concurrently fetched token will do.
      const authorization = await this.authorization(
        call,
        state.challenge,
        scope,
        refusedBearer,
      );
      const response = await this.sendWithRetries(call, method, url, {
        ...headers,
        ...(authorization ? { authorization } : {}),
      });
      if (
        response.status === 400 &&
        url.protocol === 'http:' &&
        response.body
          .toString('utf8')
          .includes('HTTP request to an HTTPS server')
      ) {
        // Go servers (distribution, Harbor, Zot) answer plain HTTP on a TLS port this way.
        // go-containerregistry tries HTTPS before HTTP for such registries; we switch on evidence.
        this.httpsRegistries.add(call.ref.registry);
        call.origin = `https://${call.ref.registry}`;
        call.agent = this.agentFor('https', call.tls);
        throw new UpgradeToHttps();
      }
      if (response.status !== 401 || call.auth.kind === 'registryToken') {
        return response;
      }
      const challenge = parseChallenge(
        String(response.headers['www-authenticate'] ?? ''),
      );
      // Authenticate again after a first contact, a changed challenge or a stale token; a second
      // time only when a fresh token still lacked the scope the registry asks for.
      const again =
        challenge &&
        (reauthentications === 0 ||
          (reauthentications === 1 &&
            challenge.params.error === 'insufficient_scope')) &&
        !(challenge.scheme === 'basic' && call.auth.kind === 'anonymous');
      if (!again) {
        return response;
      }
      state.challenge = challenge;
      refusedBearer = authorization?.startsWith('Bearer ') === true;
      reauthentications++;
    }
  }

  /** Throws unless credentials may go to `origin`: HTTPS, or plain HTTP when the call allows it. */
  private refusePlainHttp(call: Call, origin: string): void {
    if (origin.startsWith('http:') && !call.plainHttpCredentials) {
      throw new RegistryError(
        'hostNotAllowed',
        `refusing to send credentials to ${origin} over plain HTTP (the host is not in imageAutomation.registry.insecureHosts)`,
      );
    }
  }

  private tokenKey(call: Call, scope: string): string {
    return `${call.origin}|${scope}|${call.authKey}`;
  }

  private async authorization(
    call: Call,
    challenge: AuthChallenge | undefined,
    scope: string,
    forceFresh: boolean,
  ): Promise<string | undefined> {
    if (call.auth.kind === 'registryToken') {
      this.refusePlainHttp(call, call.origin);
      return `Bearer ${call.auth.token}`;
    }
    if (!challenge) {
      return undefined;
    }
    if (call.auth.kind !== 'anonymous') {
      this.refusePlainHttp(call, call.origin);
    }
    if (challenge.scheme === 'basic') {
      if (call.auth.kind === 'basic') {
        return basicHeader(call.auth.username, call.auth.password);
      }
      if (call.auth.kind === 'identityToken') {
        return basicHeader(call.auth.username ?? '<token>', call.auth.token);
      }
      return undefined;
    }
    if (challenge.scheme !== 'bearer') {
      return undefined;
    }
    const key = this.tokenKey(call, scope);
    const cached = this.tokens.get(key);
    if (
      cached &&
      !forceFresh &&
      cached.expiresAt - TOKEN_EXPIRY_MARGIN_MS > Date.now()
    ) {
      return `Bearer ${cached.token}`;
    }
    // Concurrent calls for the same scope and credentials share one token request.
    const pending = forceFresh ? undefined : this.pendingTokens.get(key);
    if (pending) {
      const shared = await pending;
      call.secrets.push(shared.token);
      return `Bearer ${shared.token}`;
    }
    const tokenScope =
      challenge.params.error === 'insufficient_scope' && challenge.params.scope
        ? challenge.params.scope
        : scope;
    const fetching = this.fetchToken(call, challenge, tokenScope);
    this.pendingTokens.set(key, fetching);
    try {
      const token = await fetching;
      this.tokens.set(key, token);
      return `Bearer ${token.token}`;
    } finally {
      if (this.pendingTokens.get(key) === fetching) {
        this.pendingTokens.delete(key);
      }
    }
  }

  /** The Docker token protocol: GET the realm (Basic credentials if any), or POST an OAuth2 refresh grant. */
  private async fetchToken(
    call: Call,
    challenge: AuthChallenge,
    scope: string,
  ): Promise<CachedToken> {
    const realm = challenge.params.realm;
    let realmUrl: URL;
    try {
      realmUrl = new URL(realm ?? '');
    } catch {
      throw new RegistryError(
        'invalidResponse',
        `${call.origin}/v2/: the Bearer challenge has no valid realm`,
      );
    }
    if (
      realmUrl.protocol !== 'https:' &&
      !(realmUrl.protocol === 'http:' && call.ref.scheme === 'http')
    ) {
      throw new RegistryError(
        'invalidResponse',
        `token realm ${realmUrl.origin} is not HTTPS; refusing to send credentials for a secure registry`,
      );
    }
    if (!isHostAllowed(realmUrl.host, this.options.allowedHosts)) {
      throw new RegistryError(
        'hostNotAllowed',
        `token realm host ${realmUrl.host} is not in imageAutomation.allowedRegistries, the registry hosts this backend may contact`,
      );
    }
    const auth = call.auth;
    if (auth.kind !== 'anonymous') {
      this.refusePlainHttp(call, realmUrl.origin);
    }
    // Credentials go to a realm on the registry's own host, or on a host they are bound to.
    if (
      auth.kind !== 'anonymous' &&
      realmUrl.host.toLowerCase() !== new URL(call.origin).host.toLowerCase() &&
      !isHostAllowed(realmUrl.host, call.credentialHosts)
    ) {
      throw new RegistryError(
        'hostNotAllowed',
        `token realm ${realmUrl.origin} is on host ${realmUrl.host}, which the credentials are not bound to; refusing to send them there (add the host to the credential's hosts)`,
      );
    }
    const service = challenge.params.service;
    const identityToken =
      auth.kind === 'identityToken'
        ? this.refreshTokens.get(call.authKey) ?? auth.token
        : undefined;
    // A realm on the registry's own origin shares its connection (and client certificate); another
    // host gets the call's CA, as a private registry's token service usually has the same one.
    const realmAgent =
      realmUrl.origin === call.origin
        ? call.agent
        : this.agentFor(realmUrl.protocol === 'https:' ? 'https' : 'http', {
            ca: call.tls?.ca,
          });
    let response: HttpResponse | undefined;
    let method: 'GET' | 'POST' = 'GET';
    let url = new URL(realmUrl);
    if (identityToken) {
      method = 'POST';
      const form = new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: identityToken,
        client_id: 'image-automation',
        scope,
        ...(service ? { service } : {}),
      });
      response = await this.sendWithRetries(
        call,
        'POST',
        url,
        { 'content-type': 'application/x-www-form-urlencoded' },
        form.toString(),
        realmAgent,
      );
      if (response.status === 404 || response.status === 405) {
        response = undefined;
      }
    }
    if (!response) {
      method = 'GET';
      url = new URL(realmUrl);
      url.searchParams.set('scope', scope);
      if (service) {
        url.searchParams.set('service', service);
      }
      const headers: Record<string, string> = {};
      if (auth.kind === 'basic') {
        headers.authorization = basicHeader(auth.username, auth.password);
      } else if (auth.kind === 'identityToken') {
        headers.authorization = basicHeader(
          auth.username ?? '<token>',
          identityToken ?? auth.token,
        );
      }
      response = await this.sendWithRetries(
        call,
        'GET',
        url,
        headers,
        undefined,
        realmAgent,
      );
    }
    if (response.status !== 200) {
      const error = responseError(method, url, response, call.secrets);
      throw new RegistryError(
        response.status === 401 || response.status === 403
          ? 'unauthorized'
          : error.kind,
        `${error.message}${
          response.status === 401
            ? ' (the token service refused the credentials)'
            : ''
        }`,
        { status: response.status },
      );
    }
    let body: {
      token?: unknown;
      access_token?: unknown;
      expires_in?: unknown;
      issued_at?: unknown;
      refresh_token?: unknown;
    };
    try {
      body = JSON.parse(response.body.toString('utf8'));
    } catch {
      throw new RegistryError(
        'invalidResponse',
        `${method} ${realmUrl.origin}${realmUrl.pathname}: the token response is not valid JSON`,
      );
    }
    const token =
      typeof body.token === 'string' && body.token
        ? body.token
        : body.access_token;
    if (typeof token !== 'string' || token === '') {
      throw new RegistryError(
        'invalidResponse',
        `${method} ${realmUrl.origin}${realmUrl.pathname}: the token response has no token`,
      );
    }
    if (
      typeof body.refresh_token === 'string' &&
      body.refresh_token !== '' &&
      auth.kind === 'identityToken'
    ) {
      this.refreshTokens.set(call.authKey, body.refresh_token);
    }
    call.secrets.push(token);
    const lifetimeS =
      typeof body.expires_in === 'number' && body.expires_in > 0
        ? body.expires_in
        : DEFAULT_TOKEN_LIFETIME_S;
    const issuedAt =
      typeof body.issued_at === 'string' ? Date.parse(body.issued_at) : NaN;
    const start =
      Number.isNaN(issuedAt) || issuedAt > Date.now() ? Date.now() : issuedAt;
    return { token, expiresAt: start + lifetimeS * 1000 };
  }

  /**
   * One request with the registry's concurrency limit and budget, retried on connection failures,
   * timeouts of a single request, 5xx and 429 (honouring `Retry-After`), within the call's deadline.
   * The last 5xx/429 response is returned for the caller to report.
   */
  private async sendWithRetries(
    call: Call,
    method: 'GET' | 'HEAD' | 'POST',
    url: URL,
    headers: Record<string, string>,
    body?: string,
    agent: http.Agent = call.agent,
  ): Promise<HttpResponse> {
    if (
      url.origin !== call.origin &&
      !isHostAllowed(url.host, this.options.allowedHosts)
    ) {
      throw new RegistryError(
        'hostNotAllowed',
        `host ${url.host} is not in imageAutomation.allowedRegistries, the registry hosts this backend may contact`,
      );
    }
    const state = this.registryState(url.origin);
    const what = describeRequest(method, url);
    for (let attempt = 1; ; attempt++) {
      await this.waitForBudget(call, state, what);
      const remaining = call.deadline - Date.now();
      if (remaining <= 0) {
        throw new RegistryError(
          'timeout',
          `${what}: timed out (the call's deadline passed)`,
        );
      }
      const release = await state.semaphore.acquire();
      let response: HttpResponse | undefined;
      let failure: RegistryError | undefined;
      try {
        call.requests++;
        response = await sendRequest({
          method,
          url,
          headers: {
            'user-agent':
              this.options.userAgent ?? 'backstage-image-automation',
            ...headers,
          },
          body,
          agent,
          timeoutMs: Math.min(
            this.options.requestTimeoutMs,
            call.deadline - Date.now(),
          ),
          maxBodyBytes: method === 'HEAD' ? 0 : this.options.maxBodyBytes,
          signal: call.signal,
        });
      } catch (error) {
        if (!(error instanceof RegistryError)) {
          throw error;
        }
        this.options.onRequest?.({
          host: url.host,
          status: error.status,
          errorKind: error.kind,
        });
        failure = new RegistryError(
          error.kind,
          redact(error.message, call.secrets),
          { status: error.status },
        );
      } finally {
        release();
      }
      if (response)
        this.options.onRequest?.({ host: url.host, status: response.status });
      const retryable = failure
        ? failure.kind === 'network' ||
          (failure.kind === 'timeout' && call.deadline > Date.now())
        : response!.status >= 500 || response!.status === 429;
      if (!retryable || attempt >= this.retries.attempts) {
        if (failure) {
          throw failure;
        }
        return response!;
      }
      let delay = Math.min(
        this.retries.maxDelayMs,
        this.retries.baseDelayMs * 2 ** (attempt - 1),
      );
      delay = delay / 2 + Math.random() * (delay / 2);
      if (response?.status === 429) {
        const asked = retryAfterMs(response.headers['retry-after']);
        if (asked !== undefined) {
          if (asked > this.retries.maxRetryAfterMs) {
            throw new RegistryError(
              'rateLimited',
              `${what}: rate limited (429), Retry-After ${Math.ceil(
                asked / 1000,
              )} s is longer than the ${Math.ceil(
                this.retries.maxRetryAfterMs / 1000,
              )} s this client waits`,
              { status: 429, retryAfterMs: asked },
            );
          }
          delay = asked;
        }
      }
      if (Date.now() + delay >= call.deadline) {
        if (failure) {
          throw failure;
        }
        return response!;
      }
      this.options.logger?.debug(
        `registry request failed, retrying in ${Math.round(delay)} ms`,
        {
          request: what,
          attempt,
          reason: failure ? failure.message : `HTTP ${response!.status}`,
        },
      );
      await sleep(delay, call.signal);
    }
  }

  private async waitForBudget(call: Call, state: RegistryState, what: string) {
    if (!state.budget) {
      return;
    }
    // The fleet's budget tells how long until its next window, and is asked again then (another
    // replica may spend that window first); a replica's own budget reserves a later request at once.
    for (;;) {
      let wait: number;
      try {
        wait = await state.budget.reserve();
      } catch (error) {
        // The fleet's count cannot be read: fail closed rather than send uncounted requests.
        throw new RegistryError(
          'budgetExceeded',
          `${what}: the request budget for ${
            new URL(call.origin).host
          } could not be claimed: ${(error as Error).message}`,
        );
      }
      if (wait === 0) {
        return;
      }
      if (Date.now() + wait >= call.deadline) {
        if (state.budget instanceof RequestBudget) state.budget.refund();
        throw new RegistryError(
          'budgetExceeded',
          `${what}: the request budget for ${
            new URL(call.origin).host
          } is spent until after this call's deadline`,
        );
      }
      await sleep(wait, call.signal);
      if (state.budget instanceof RequestBudget) return;
    }
  }
}
