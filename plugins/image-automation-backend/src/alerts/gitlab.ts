import { createHash } from 'node:crypto';
import { FluxEvent } from './fluxEvent';

/**
 * The `gitlab` Provider type: a commit status on the commit an event names, as
 * notification-controller v1.5.0's GitLab notifier (internal/notifier/gitlab.go, util.go) sets it
 * through GitLab's REST API (go-gitlab's requests: `PRIVATE-TOKEN`, JSON, `/api/v4/`).
 */

/** The reason Flux's GitLab notifier skips (meta.ProgressingReason). */
const PROGRESSING_REASON = 'Progressing';

/** The most of a commit-status listing read (the listing is filtered by name: normally one entry). */
const MAX_LISTING_BYTES = 1024 * 1024;

/**
 * go-gitlab's PathEscape: `url.PathEscape` (which escapes `/`) with `.` escaped too, so a project
 * path is one segment and `..` can never walk up the API's path.
 */
export function gitlabPathEscape(s: string): string {
  // Go keeps, in a path segment, the unreserved characters and `$ & + : = @`; `.` is escaped here.
  let out = '';
  for (const byte of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += /^[A-Za-z0-9\-_~$&+:=@]$/.test(c)
      ? c
      : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/**
 * Flux's parseGitAddress: the GitLab origin (`ssh` becomes `https`) and the project path (leading
 * `/` and a trailing `.git` removed) of a project address — `https://gitlab.example.com/group/sub/project`,
 * `ssh://git@host/group/project.git` or `git@host:group/project.git`.
 */
export function parseGitLabAddress(address: string): {
  origin: string;
  project: string;
} {
  const scp = /^(?:[^@/:\s]+@)?([^@/:\s]+):(?!\/\/)(.*)$/.exec(address);
  let origin: string;
  let path: string;
  if (scp && !/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(address)) {
    origin = `https://${scp[1]}`;
    path = scp[2];
  } else {
    let url: URL;
    try {
      url = new URL(address);
    } catch {
      throw new Error(`failed parsing URL "${address}"`);
    }
    if (url.protocol === 'ssh:') {
      origin = `https://${url.host}`;
    } else if (url.protocol === 'https:' || url.protocol === 'http:') {
      if (url.username || url.password) {
        throw new Error(
          'the address may not carry a user name or password; use spec.secretRef',
        );
      }
      origin = `${url.protocol}//${url.host}`;
    } else {
      throw new Error(`the address must be https:// (got ${url.protocol})`);
    }
    path = decodeURIComponent(url.pathname);
  }
  const project = path.replace(/^\/+/, '').replace(/\.git$/, '');
  return { origin, project };
}

/**
 * Where a `gitlab` Provider's requests go: `<origin>/api/v4/projects/<escaped project path>`
 * (every request is below it). Host checks and credential bindings apply to this URL.
 */
export function gitlabDestination(address: string): string {
  const { origin, project } = parseGitLabAddress(address);
  if (
    !project ||
    project.split('/').some(p => p === '' || p === '.' || p === '..')
  ) {
    throw new Error(
      `invalid project path '${project}': the address must be https://<host>/<group>/<project>`,
    );
  }
  return `${origin}/api/v4/projects/${gitlabPathEscape(project)}`;
}

/**
 * The URL a `gitlab` Provider's token is checked against (credential `hosts`): the project's API
 * URL with the project path as path segments (`…/api/v4/projects/group/sub/project`), which is how
 * GitLab reads the escaped form the requests use — a credential bound to a path prefix then binds
 * to projects, and the escaped separators are not mistaken for an attempt to leave the prefix.
 */
export function gitlabBindingUrl(address: string): string {
  gitlabDestination(address);
  const { origin, project } = parseGitLabAddress(address);
  return `${origin}/api/v4/projects/${project
    .split('/')
    .map(encodeURIComponent)
    .join('/')}`;
}

/** The commit an event is about: its `commit`, else `originRevision`, else `revision` metadata (Flux's GetRevision). */
export function eventRevision(event: FluxEvent): string | undefined {
  const metadata = event.metadata ?? {};
  for (const key of ['commit', 'originRevision', 'revision']) {
    if (Object.prototype.hasOwnProperty.call(metadata, key))
      return metadata[key];
  }
  return undefined;
}

/** Length of a Go string (bytes). */
const byteLength = (s: string) => Buffer.byteLength(s, 'utf8');

/** fluxcd/pkg/git ExtractHashFromRevision: after the last `:`, else the last `/` segment, else all. */
function extractHash(rev: string): string {
  if (rev === '') return '';
  const colon = rev.lastIndexOf(':');
  if (colon !== -1) return rev.slice(colon + 1);
  const parts = rev.split('/');
  return parts.length > 1 ? parts[parts.length - 1] : rev;
}

/** fluxcd/pkg/git ExtractNamedPointerFromRevision. */
function extractPointer(rev: string): string {
  const at = rev.lastIndexOf('@');
  if (at !== -1) return rev.slice(0, at);
  const slash = rev.lastIndexOf('/');
  if (slash !== -1 && rev.slice(0, slash) !== 'HEAD')
    return rev.slice(0, slash);
  return '';
}

/** Hash.Algorithm: a 40-byte hash is SHA-1; anything else is unknown. */
const algorithm = (hash: string) =>
  byteLength(hash) === 40 ? 'sha1' : '<unknown>';

/** fluxcd/pkg/git TransformRevision: a legacy `<ref>/<hash>` or bare hash as `<ref>@sha1:<hash>` / `sha1:<hash>`. */
function transformRevision(rev: string): string {
  if (rev === '' || rev.lastIndexOf(':') >= 0) return rev;
  const pointer = extractPointer(rev);
  const hash = extractHash(rev);
  const digest = hash === '' ? '' : `${algorithm(hash)}:${hash}`;
  return pointer === '' ? digest : `${pointer}@${digest}`;
}

/**
 * Flux's parseRevision: the commit SHA-1 of a revision — `main@sha1:<hash>`,
 * `feature/x@sha1:<hash>`, `sha1:<hash>`, a legacy `main/<hash>`, or a bare 40-character hash.
 */
export function parseRevision(rev: string): string {
  const hash = extractHash(transformRevision(rev));
  if (algorithm(hash) !== 'sha1')
    throw new Error(`failed to extract commit hash from '${rev}' revision`);
  return hash;
}

/** Go's unicode.IsLower / IsUpper / IsDigit classes (4: anything else). */
function charClass(c: string): number {
  if (/\p{Ll}/u.test(c)) return 1;
  if (/\p{Lu}/u.test(c)) return 2;
  if (/\p{Nd}/u.test(c)) return 3;
  return 4;
}

/** Flux's splitCamelcase: `HealthCheckFailed` → Health, Check, Failed; `PDFLoader` → PDF, Loader. */
export function splitCamelcase(src: string): string[] {
  // Go does not split invalid UTF-8; in JavaScript, a lone surrogate.
  if (
    /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(
      src,
    )
  )
    return [src];
  const runs: string[][] = [];
  let last = 0;
  for (const c of src) {
    const cls = charClass(c);
    if (cls === last) runs[runs.length - 1].push(c);
    else runs.push([c]);
    last = cls;
  }
  for (let i = 0; i < runs.length - 1; i++) {
    if (charClass(runs[i][0]) === 2 && charClass(runs[i + 1][0]) === 1) {
      runs[i + 1].unshift(runs[i][runs[i].length - 1]);
      runs[i] = runs[i].slice(0, -1);
    }
  }
  return runs.filter(r => r.length > 0).map(r => r.join(''));
}

/** Flux's description of a commit status: the event's reason split at camel case, lower-cased. */
export function commitStatusDescription(event: FluxEvent): string {
  return splitCamelcase(event.reason).join(' ').toLowerCase();
}

/**
 * The Provider's stand-in for a Kubernetes UID's first segment: our Provider objects have no UID,
 * so the first 8 hex characters of the SHA-256 of its id (`Provider/<namespace>/<name>`) — stable
 * across restarts and instances, different per Provider.
 */
export function providerUidSegment(providerId: string): string {
  return createHash('sha256').update(providerId).digest('hex').slice(0, 8);
}

/** Flux's generateCommitStatusID: `<kind>/<name>/<first segment of the Provider UID>`, lower-cased. */
export function commitStatusName(event: FluxEvent, providerId: string): string {
  return `${event.involvedObject.kind}/${
    event.involvedObject.name
  }/${providerUidSegment(providerId)}`.toLowerCase();
}

/** A commit status as GitLab lists it (the fields compared). */
export interface GitLabCommitStatus {
  sha?: string;
  status?: string;
  name?: string;
  description?: string | null;
}

/** The status to set for an event. */
export interface PlannedStatus {
  sha: string;
  state: 'success' | 'failed';
  name: string;
  description: string;
}

/** Flux's duplicateGitlabStatus: the same sha, state, description and name is already there. */
export function isDuplicateStatus(
  statuses: GitLabCommitStatus[],
  status: PlannedStatus,
): boolean {
  return statuses.some(
    s =>
      s.sha === status.sha &&
      s.status === status.state &&
      (s.description ?? '') === status.description &&
      s.name === status.name,
  );
}

/** The GitLab state of an event's severity, as Flux maps it: info is success, error is failed. */
function gitlabState(severity: string): 'success' | 'failed' | undefined {
  if (severity === 'info') return 'success';
  if (severity === 'error') return 'failed';
  return undefined;
}

/**
 * The commit status an event sets, or undefined for an event Flux skips (reason `Progressing`);
 * throws, with Flux's words, for an event without revision metadata or with one naming no commit.
 */
export function planCommitStatus(
  event: FluxEvent,
  providerId: string,
): PlannedStatus | undefined {
  if (event.reason === PROGRESSING_REASON) return undefined;
  const revision = eventRevision(event);
  if (revision === undefined) throw new Error('missing revision metadata');
  const sha = parseRevision(revision);
  const state = gitlabState(event.severity);
  if (!state) throw new Error("can't convert to gitlab state");
  return {
    sha,
    state,
    name: commitStatusName(event, providerId),
    description: commitStatusDescription(event),
  };
}

/** A response (body possibly cut at the limit asked for), or why there was none. */
export type HttpOutcome =
  | { status: number; body: string; truncated?: boolean }
  | { error: string; retryable: boolean };

/** One HTTP request, made by the dispatcher (TLS, timeout, abort). */
export type HttpSend = (request: {
  method: 'GET' | 'POST';
  url: URL;
  headers: Record<string, string>;
  body?: string;
  maxBody?: number;
}) => Promise<HttpOutcome>;

/** What setting a commit status came to. */
export type CommitStatusOutcome =
  | { result: 'set'; status: PlannedStatus }
  | { result: 'skipped'; why: string }
  | { result: 'failed'; failure: string; retryable: boolean };

/** go-gitlab's parseError of an error body. */
function parseGitLabError(raw: unknown): string {
  if (typeof raw === 'string') return raw;
  if (Array.isArray(raw)) return `[${raw.map(parseGitLabError).join(', ')}]`;
  if (raw !== null && typeof raw === 'object') {
    return Object.entries(raw as Record<string, unknown>)
      .map(([k, v]) => `{${k}: ${parseGitLabError(v)}}`)
      .sort()
      .join(', ');
  }
  let goType: string = typeof raw;
  if (raw === null) goType = '<nil>';
  else if (typeof raw === 'number') goType = 'float64';
  else if (typeof raw === 'boolean') goType = 'bool';
  return `failed to parse unexpected error type: ${goType}`;
}

/** go-gitlab's CheckResponse: undefined for 200/201/202/204/304, else the error as it words it. */
function responseError(
  method: string,
  url: URL,
  status: number,
  body: string,
): string | undefined {
  if ([200, 201, 202, 204, 304].includes(status)) return undefined;
  if (status === 404) return '404 Not Found';
  let path: string;
  try {
    path = decodeURIComponent(url.pathname.replace(/\+/g, ' '));
  } catch {
    path = '';
  }
  const where = `${method} ${url.protocol}//${url.host}${path}`;
  if (body.trim() === '') return `${where}: ${status}`;
  let message: string;
  try {
    message = parseGitLabError(JSON.parse(body));
  } catch {
    message = `failed to parse unknown error format: ${body}`;
  }
  return `${where}: ${status} ${message}`;
}

/** go-gitlab retries 429 and 5xx; a transport error as the dispatcher classifies it. */
const retryableStatus = (status: number) => status === 429 || status >= 500;

/**
 * Sets the commit status for `event` as Flux's GitLab notifier does: skips `Progressing` events;
 * lists the commit's statuses with the same name
 * (`GET …/repository/commits/<sha>/statuses?name=<name>`) and stops when one with the same sha,
 * state, description and name exists; else `POST …/statuses/<sha>` with `{state, name, description}`.
 * `base` is the project's API URL (gitlabDestination); every request carries `PRIVATE-TOKEN`.
 */
export async function setCommitStatus(
  base: URL,
  token: string,
  event: FluxEvent,
  providerId: string,
  send: HttpSend,
): Promise<CommitStatusOutcome> {
  let status: PlannedStatus | undefined;
  try {
    status = planCommitStatus(event, providerId);
  } catch (error) {
    return {
      result: 'failed',
      failure: (error as Error).message,
      retryable: false,
    };
  }
  if (!status)
    return {
      result: 'skipped',
      why: `reason ${PROGRESSING_REASON} is not reported`,
    };
  const headers = {
    Accept: 'application/json',
    'User-Agent': 'go-gitlab',
    'PRIVATE-TOKEN': token,
  };
  const sha = gitlabPathEscape(status.sha);
  const list = new URL(`${base.href}/repository/commits/${sha}/statuses`);
  list.search = new URLSearchParams({ name: status.name }).toString();
  const listed = await send({
    method: 'GET',
    url: list,
    headers,
    maxBody: MAX_LISTING_BYTES,
  });
  if ('error' in listed) {
    return {
      result: 'failed',
      failure: `unable to list commit status: ${listed.error}`,
      retryable: listed.retryable,
    };
  }
  const listError = responseError('GET', list, listed.status, listed.body);
  if (listError) {
    return {
      result: 'failed',
      failure: `unable to list commit status: ${listError}`,
      retryable: retryableStatus(listed.status),
    };
  }
  let statuses: GitLabCommitStatus[];
  try {
    if (listed.truncated)
      throw new Error(`the listing is larger than ${MAX_LISTING_BYTES} bytes`);
    const parsed: unknown = JSON.parse(listed.body);
    if (!Array.isArray(parsed))
      throw new Error(
        'json: cannot unmarshal the answer into a list of commit statuses',
      );
    statuses = parsed as GitLabCommitStatus[];
  } catch (error) {
    return {
      result: 'failed',
      failure: `unable to list commit status: ${(error as Error).message}`,
      retryable: false,
    };
  }
  if (isDuplicateStatus(statuses, status))
    return { result: 'skipped', why: 'the commit already has this status' };
  const post = new URL(`${base.href}/statuses/${sha}`);
  // SetCommitStatusOptions in Go's field order: state, name, description.
  const body = JSON.stringify({
    state: status.state,
    name: status.name,
    description: status.description,
  }).replace(
    /[<>&\u2028\u2029]/g,
    c => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
  const posted = await send({
    method: 'POST',
    url: post,
    headers: { ...headers, 'Content-Type': 'application/json' },
    body,
  });
  if ('error' in posted)
    return {
      result: 'failed',
      failure: posted.error,
      retryable: posted.retryable,
    };
  const postError = responseError('POST', post, posted.status, posted.body);
  if (postError)
    return {
      result: 'failed',
      failure: postError,
      retryable: retryableStatus(posted.status),
    };
  return { result: 'set', status };
}
