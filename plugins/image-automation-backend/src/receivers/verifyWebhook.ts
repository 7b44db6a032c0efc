import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/** One webhook call as the route received it: lower-case header names, the raw body. @internal */
export interface WebhookCall {
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/**
 * What a Receiver of one type makes of a call:
 * - `accepted`: authentic; `act` false when it is acknowledged without reconciling anything
 *   (a GitHub `ping`, a registry event that is not a manifest push);
 * - `unauthenticated`: the signature or token does not match (answered as an unknown receiver);
 * - `invalid`: authentic, but the payload or its event type is refused (400).
 * `detail` never contains the token or a signature.
 * @internal
 */
export type WebhookVerdict =
  | { outcome: 'accepted'; act: boolean; detail: string }
  | { outcome: 'unauthenticated'; detail: string }
  | {
      outcome: 'invalid';
      reason: 'InvalidPayload' | 'EventNotAllowed';
      detail: string;
    };

/** The types {@link verifyWebhook} checks (Flux's, but `cdevents`, plus `distribution`). @internal */
export const VERIFIED_RECEIVER_TYPES = [
  'generic',
  'generic-hmac',
  'github',
  'gitlab',
  'bitbucket',
  'harbor',
  'dockerhub',
  'quay',
  'gcr',
  'nexus',
  'acr',
  'distribution',
] as const;

function header(call: WebhookCall, name: string): string {
  const value = call.headers[name];
  return (Array.isArray(value) ? value[0] : value) ?? '';
}

/** Equal strings, compared in constant time whatever their lengths (both are hashed first). @internal */
export function constantTimeEqual(a: string, b: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();
  return timingSafeEqual(digest(a), digest(b));
}

const HMAC_ALGORITHMS: Record<string, string> = {
  sha1: 'sha1',
  sha256: 'sha256',
  sha512: 'sha512',
};

/**
 * Checks `<algorithm>=<hex>` (sha1, sha256 or sha512) against the HMAC of the body keyed with the
 * token, as GitHub signs (and Flux's `generic-hmac` expects in `X-Signature`).
 */
function signatureMatches(
  signature: string,
  body: Buffer,
  token: string,
): boolean {
  const eq = signature.indexOf('=');
  const algorithm = HMAC_ALGORITHMS[signature.slice(0, eq)];
  const hex = signature.slice(eq + 1);
  if (eq < 0 || !algorithm || !/^[0-9a-f]+$/i.test(hex)) return false;
  const expected = createHmac(algorithm, token).update(body).digest();
  const given = Buffer.from(hex, 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

function eventAllowed(event: string, events: string[] | undefined): boolean {
  return (
    !events?.length || events.some(e => e.toLowerCase() === event.toLowerCase())
  );
}

function parseJson(
  body: Buffer,
): { ok: true; value: any } | { ok: false; message: string } {
  try {
    return { ok: true, value: JSON.parse(body.toString('utf8')) };
  } catch (error) {
    return { ok: false, message: (error as Error).message };
  }
}

const accepted = (detail: string, act = true): WebhookVerdict => ({
  outcome: 'accepted',
  act,
  detail,
});
const unauthenticated = (detail: string): WebhookVerdict => ({
  outcome: 'unauthenticated',
  detail,
});
const invalidPayload = (detail: string): WebhookVerdict => ({
  outcome: 'invalid',
  reason: 'InvalidPayload',
  detail,
});
const eventNotAllowed = (detail: string): WebhookVerdict => ({
  outcome: 'invalid',
  reason: 'EventNotAllowed',
  detail,
});

/** Types whose payload is always read as JSON (as Flux decodes it). */
const JSON_TYPES = new Set([
  'dockerhub',
  'quay',
  'gcr',
  'nexus',
  'acr',
  'distribution',
]);

/**
 * Verifies one call to a Receiver of `type` with its `token` and `spec.events`, as Flux's
 * notification-controller v1.5.0 does per type, with constant-time comparisons; see
 * docs/notifications.md ("Receivers") for the headers each type reads and where this differs.
 * @internal
 */
export function verifyWebhook(
  type: string,
  token: string,
  events: string[] | undefined,
  call: WebhookCall,
): WebhookVerdict {
  const verdict = authenticate(type, token, events, call);
  if (verdict.outcome !== 'accepted') return verdict;
  // A body announced as JSON, or read as JSON by the type, must parse (after authentication only).
  const contentType = header(call, 'content-type').toLowerCase();
  if (
    call.body.length > 0 &&
    !JSON_TYPES.has(type) &&
    contentType.includes('json')
  ) {
    const parsed = parseJson(call.body);
    if (!parsed.ok)
      return invalidPayload(`the body is not valid JSON: ${parsed.message}`);
  }
  return verdict;
}

function authenticate(
  type: string,
  token: string,
  events: string[] | undefined,
  call: WebhookCall,
): WebhookVerdict {
  switch (type) {
    case 'generic':
      return accepted('generic call');
    case 'generic-hmac':
      return signatureMatches(header(call, 'x-signature'), call.body, token)
        ? accepted('generic-hmac call')
        : unauthenticated(
            'the X-Signature header does not match the HMAC of the body',
          );
    case 'github': {
      const signature =
        header(call, 'x-hub-signature-256') || header(call, 'x-hub-signature');
      if (!signatureMatches(signature, call.body, token)) {
        return unauthenticated(
          'the X-Hub-Signature-256 (or X-Hub-Signature) header does not match the HMAC of the body',
        );
      }
      const event = header(call, 'x-github-event');
      // A ping (sent when the webhook is created) is acknowledged; nothing is reconciled.
      if (event.toLowerCase() === 'ping') return accepted('GitHub ping', false);
      if (!eventAllowed(event, events))
        return eventNotAllowed(`the GitHub event "${event}" is not authorised`);
      return accepted(`GitHub event ${event}`);
    }
    case 'bitbucket': {
      if (
        !signatureMatches(header(call, 'x-hub-signature'), call.body, token)
      ) {
        return unauthenticated(
          'the X-Hub-Signature header does not match the HMAC of the body',
        );
      }
      const event = header(call, 'x-event-key');
      if (!eventAllowed(event, events))
        return eventNotAllowed(
          `the Bitbucket server event "${event}" is not authorised`,
        );
      return accepted(`Bitbucket server event ${event}`);
    }
    case 'gitlab': {
      if (!constantTimeEqual(header(call, 'x-gitlab-token'), token)) {
        return unauthenticated(
          'the X-Gitlab-Token header value does not match the receiver token',
        );
      }
      const event = header(call, 'x-gitlab-event');
      if (!eventAllowed(event, events))
        return eventNotAllowed(`the GitLab event "${event}" is not authorised`);
      return accepted(`GitLab event ${event}`);
    }
    case 'harbor':
      return constantTimeEqual(header(call, 'authorization'), token)
        ? accepted('Harbor event')
        : unauthenticated(
            'the Harbor Authorization header value does not match the receiver token',
          );
    case 'nexus': {
      const signature = header(call, 'x-nexus-webhook-signature');
      const expected = createHmac('sha1', token)
        .update(call.body)
        .digest('hex');
      if (!signature || !constantTimeEqual(signature, expected))
        return unauthenticated('invalid Nexus signature');
      return jsonPayload(
        call,
        'Nexus',
        p => `Nexus event from ${p?.repositoryName}`,
      );
    }
    case 'dockerhub':
      return jsonPayload(
        call,
        'DockerHub',
        p =>
          `DockerHub event from ${p?.repository?.repo_url} for tag ${p?.push_data?.tag}`,
      );
    case 'quay':
      return jsonPayload(call, 'Quay', p => `Quay event from ${p?.docker_url}`);
    case 'acr':
      return jsonPayload(
        call,
        'ACR',
        p =>
          `ACR event from ${p?.target?.repository} for tag ${p?.target?.tag}`,
      );
    case 'gcr':
      return gcrPayload(call);
    case 'distribution':
      return distributionEnvelope(call, token, events);
    default:
      return unauthenticated(`receiver type "${type}" is not supported`);
  }
}

function jsonPayload(
  call: WebhookCall,
  what: string,
  describe: (payload: any) => string,
): WebhookVerdict {
  const parsed = parseJson(call.body);
  if (!parsed.ok || typeof parsed.value !== 'object' || parsed.value === null) {
    return invalidPayload(
      `cannot decode ${what} webhook payload${
        parsed.ok ? ': not a JSON object' : `: ${parsed.message}`
      }`,
    );
  }
  return accepted(describe(parsed.value));
}

/**
 * Google Pub/Sub push of a GCR/Artifact Registry event: `Authorization: Bearer <ID token>` and the
 * event base64-encoded in `message.data`. Flux only asks Google's tokeninfo endpoint to answer
 * with JSON, which it does for any token; this backend makes no outbound call and, like Flux in
 * effect, relies on the secret webhook path (docs/notifications.md).
 */
function gcrPayload(call: WebhookCall): WebhookVerdict {
  const authorization = header(call, 'authorization');
  if (!/^Bearer \S+/.test(authorization))
    return unauthenticated('Authorization header is missing or malformed');
  const parsed = parseJson(call.body);
  if (!parsed.ok)
    return invalidPayload(
      `cannot decode GCR webhook payload: ${parsed.message}`,
    );
  const data = parsed.value?.message?.data;
  const inner =
    typeof data === 'string'
      ? parseJson(Buffer.from(data, 'base64'))
      : undefined;
  if (!inner?.ok || typeof inner.value !== 'object' || inner.value === null) {
    return invalidPayload(
      'cannot decode GCR webhook body: message.data is not base64-encoded JSON',
    );
  }
  return accepted(
    `GCR event from ${inner.value.digest} for tag ${inner.value.tag}`,
  );
}

/**
 * The CNCF distribution registry's notification envelope (`{"events": [...]}`), authenticated by
 * `Authorization: Bearer <token>` (the registry's `notifications.endpoints[].headers`). Acts on
 * events whose action is in `spec.events` (default `push`) and whose target is a manifest or a
 * tag; blob events and pulls are acknowledged without reconciling (a pull made by a scan must not
 * trigger another scan).
 */
function distributionEnvelope(
  call: WebhookCall,
  token: string,
  events: string[] | undefined,
): WebhookVerdict {
  if (!constantTimeEqual(header(call, 'authorization'), `Bearer ${token}`)) {
    return unauthenticated(
      'the Authorization header does not carry the receiver token as a Bearer token',
    );
  }
  const parsed = parseJson(call.body);
  if (!parsed.ok)
    return invalidPayload(
      `cannot decode the distribution notification envelope: ${parsed.message}`,
    );
  const list = parsed.value?.events;
  if (!Array.isArray(list))
    return invalidPayload(
      'cannot decode the distribution notification envelope: events is not a list',
    );
  const actions = events?.length ? events : ['push'];
  const relevant = list.filter(
    e =>
      typeof e?.action === 'string' &&
      eventAllowed(e.action, actions) &&
      (typeof e.target?.tag === 'string' ||
        /manifest|index/i.test(String(e.target?.mediaType ?? ''))),
  );
  if (relevant.length === 0)
    return accepted(
      `distribution envelope of ${
        list.length
      } events, none a manifest ${actions.join('/')}`,
      false,
    );
  const repositories = [
    ...new Set(
      relevant.map(
        e =>
          `${e.target?.repository}${e.target?.tag ? `:${e.target.tag}` : ''}`,
      ),
    ),
  ];
  return accepted(
    `distribution ${relevant[0].action} of ${repositories
      .slice(0, 5)
      .join(', ')}`,
  );
}
