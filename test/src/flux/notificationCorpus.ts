/**
 * The scenario corpus run through the real notification-controller and through our backend
 * (notificationController.test.ts). Each scenario is data, in a namespace of its own (`n-<id>`):
 *
 * - an Alert scenario declares a Provider (named `provider`) and an Alert (named `alert`) and a
 *   list of events of the objects every namespace has (ImageRepositories `app`, labelled
 *   `team: a`, and `other`, `team: b`; GitRepository `repo`). Flux gets each event as a Flux
 *   controller's event recorder posts it to the event server; our backend records it through the
 *   event store the reconcilers record through, which offers it to the AlertDispatcher. Compared:
 *   the requests a stand-in HTTP service on 127.0.0.1 receives (path, headers, JSON body field by
 *   field, less {@link EXCLUDED_FIELDS}) and the events on the Alert.
 * - a Receiver scenario declares a Receiver (named `receiver`) and makes calls to its webhook
 *   path. Compared: the Receiver's status (conditions, `webhookPath`), the HTTP answers, and which
 *   objects of the namespace got a reconcile request.
 *
 * A scenario whose outcomes differ lists every differing field with Flux's value and ours in
 * `difference`; docs/differences.md names the scenario id under "Compared with the real
 * notification-controller" with the reason. The test asserts the difference exactly, so a new,
 * undocumented difference fails.
 */

/** A difference between Flux's outcome and ours, field by field (keys as in the outcome). */
export interface DocumentedDifference {
  /** `field -> [flux, ours]`; `{flux-standin}`, `{our-standin}`, `{closed}` are replaced by those hosts. */
  fields: Record<string, [unknown, unknown]>;
  /** Why (one sentence; the long form is in docs/differences.md). */
  reason: string;
}

/** An event of one of the namespace's objects, as its controller records it. */
export interface CorpusEvent {
  kind: 'ImageRepository' | 'GitRepository';
  name: 'app' | 'other' | 'repo';
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
  /** What the controller attaches (Flux: under keys prefixed with the object's API group). */
  metadata?: Record<string, string>;
  /** Sent this many times in a row (default 1). */
  times?: number;
}

/** Where a Provider sends. */
export type ProviderAddress =
  /** The stand-in, at `/<namespace>/<path>`: answers 200 `{"ok":true}`. */
  | { standIn: string }
  /** The stand-in, answering 400 with a body. */
  | { standInRejecting: string }
  /** 127.0.0.1 on a port nothing listens on. */
  | 'closed';

export interface AlertScenario {
  id: string;
  title: string;
  provider: {
    type: string;
    address: ProviderAddress;
    /** `secretRef`: a Secret with `token` for Flux, a `token` credential in app-config for us. */
    secret?: 'slack-token' | 'hmac-key';
    channel?: string;
    username?: string;
    timeout?: string;
    suspend?: boolean;
  };
  /** The Alert's spec; `providerRef` defaults to the scenario's Provider. */
  alert: Record<string, unknown>;
  events: CorpusEvent[];
  difference?: DocumentedDifference;
}

/** One call to a Receiver's webhook path. */
export interface ReceiverCall {
  body: string;
  headers?: Record<string, string>;
  /** Signs the body: `X-Signature: sha256=…` (generic-hmac) or `X-Hub-Signature-256` (github). */
  sign?: 'x-signature' | 'github';
  /** Signs with another key than the Receiver's token. */
  wrongKey?: boolean;
}

export interface ReceiverScenario {
  id: string;
  title: string;
  /** The Receiver's spec; `secretRef` defaults to the receiver token (`receiver-token`). */
  receiver: Record<string, unknown>;
  calls: ReceiverCall[];
  difference?: DocumentedDifference;
}

/**
 * Fields of the sent JSON left out of the comparison, with why. Everything else of every request
 * body is compared (objects by key, so key order does not count; arrays in order, except the
 * ones listed as sorted).
 */
export const EXCLUDED_FIELDS: Record<string, string> = {
  timestamp: 'the time of sending',
  'involvedObject.uid':
    'a Kubernetes UID: our objects have none, so our events carry none',
  'involvedObject.resourceVersion':
    'Kubernetes bookkeeping: our objects have none, so our events carry none',
  reportingInstance:
    "the host name of the reporting controller's pod: our events carry none",
  'client_payload.timestamp, client_payload.involvedObject.uid/resourceVersion, client_payload.reportingInstance':
    'the same fields inside a githubdispatch payload',
};

/**
 * Arrays compared as sets (sorted first), because Flux builds them by iterating a Go map, whose
 * order is random: Slack's (and Discord's) `attachments[].fields`, Google Chat's key/value
 * `widgets`. (Teams' adaptive-card `facts` are ordered by Flux, summary first: compared in order.)
 */
export const SORTED_ARRAYS = ['fields', 'widgets'];

const scanned = (
  name: 'app' | 'other',
  tags: number,
  type: 'Normal' | 'Warning' = 'Normal',
): CorpusEvent => ({
  kind: 'ImageRepository',
  name,
  type,
  reason: type === 'Normal' ? 'Succeeded' : 'ReadOperationFailed',
  message:
    type === 'Normal'
      ? `successful scan: found ${tags} tags with checksum 1604326${tags}8`
      : 'scan failed: GET https://registry.example.com/v2/app/tags/list: 503 Service Unavailable',
});

const REVISION = 'main@sha1:8b1f6e5a3c2d4e6f8a0b1c2d3e4f5a6b7c8d9e0f';
const fetched: CorpusEvent = {
  kind: 'GitRepository',
  name: 'repo',
  type: 'Normal',
  reason: 'NewArtifact',
  message: "stored artifact for commit 'Update podinfo to 6.7.1'",
  metadata: { revision: REVISION },
};

const generic = (path = 'hook') => ({
  type: 'generic',
  address: { standIn: path },
});
const byName = { eventSources: [{ kind: 'ImageRepository', name: 'app' }] };

export const ALERT_SCENARIOS: AlertScenario[] = [
  {
    id: 'generic-by-name',
    title:
      'generic Provider, an event source by name: only that object’s events',
    provider: generic(),
    alert: byName,
    events: [scanned('app', 3), scanned('other', 1)],
  },
  {
    id: 'generic-wildcard',
    title:
      'event source `*`: every ImageRepository of the namespace, not the GitRepository',
    provider: generic(),
    alert: { eventSources: [{ kind: 'ImageRepository', name: '*' }] },
    events: [scanned('app', 3), scanned('other', 1), fetched],
  },
  {
    id: 'generic-match-labels',
    title: 'event source `*` with matchLabels: only the labelled object',
    provider: generic(),
    alert: {
      eventSources: [
        { kind: 'ImageRepository', name: '*', matchLabels: { team: 'a' } },
      ],
    },
    events: [scanned('app', 3), scanned('other', 1)],
  },
  {
    id: 'generic-hmac',
    title:
      'generic-hmac Provider: the event signed with the key from its secret',
    provider: { ...generic(), type: 'generic-hmac', secret: 'hmac-key' },
    alert: byName,
    events: [scanned('app', 0, 'Warning')],
  },
  {
    id: 'generic-hmac-no-key',
    title: 'generic-hmac Provider without a secret',
    provider: { ...generic(), type: 'generic-hmac' },
    alert: byName,
    events: [scanned('app', 3)],
    difference: {
      reason:
        'the Provider is refused up front (Stalled, so the Alert is not Ready) where Flux fails each event',
      fields: {
        'alert.events': [
          [
            "Warning NotificationDispatchFailed: failed to dispatch notification for ImageRepository/n-generic-hmac-no-key/app: failed to initialize notifier for provider 'provider': failed to initialize notifier: HMAC key is empty",
          ],
          [
            'Warning Failed: provider n-generic-hmac-no-key/provider is not ready',
          ],
        ],
      },
    },
  },
  {
    id: 'slack-standin',
    title:
      'slack Provider (Web API stand-in): bot token, channel, username, metadata as fields',
    provider: {
      type: 'slack',
      address: { standIn: 'api/chat.postMessage' },
      secret: 'slack-token',
      channel: 'general',
      username: 'flux-bot',
    },
    alert: {
      ...byName,
      eventMetadata: { cluster: 'staging-1', region: 'eu-west-1' },
    },
    events: [scanned('app', 3), scanned('app', 0, 'Warning')],
  },
  {
    id: 'msteams-standin',
    title: 'msteams Provider (workflow stand-in): adaptive card, summary first',
    provider: { type: 'msteams', address: { standIn: 'workflows/teams' } },
    alert: {
      ...byName,
      summary: 'Image scans of podinfo',
      eventMetadata: { env: 'production' },
    },
    events: [scanned('app', 3), scanned('app', 0, 'Warning')],
  },
  {
    id: 'discord-standin',
    title:
      'discord Provider (webhook stand-in): Slack-compatible body to …/slack',
    provider: {
      type: 'discord',
      address: { standIn: 'api/webhooks/1234/abcd' },
      username: 'flux',
    },
    alert: byName,
    events: [scanned('app', 3)],
  },
  {
    id: 'googlechat-standin',
    title: 'googlechat Provider (webhook stand-in): card with the metadata',
    provider: { type: 'googlechat', address: { standIn: 'v1/spaces/AAA' } },
    alert: {
      eventSources: [{ kind: 'GitRepository', name: 'repo' }],
      eventMetadata: { cluster: 'staging-1' },
    },
    events: [{ ...fetched, type: 'Warning', reason: 'GitOperationFailed' }],
  },
  {
    id: 'inclusion-list',
    title: 'inclusionList: only messages matching a pattern',
    provider: generic(),
    alert: { ...byName, inclusionList: ['^successful scan: found [1-9]'] },
    events: [
      scanned('app', 3),
      { ...scanned('app', 0), message: 'no new tags found, next scan in 5m' },
    ],
  },
  {
    id: 'exclusion-list',
    title: 'exclusionList: messages matching a pattern are dropped',
    provider: generic(),
    alert: { ...byName, exclusionList: ['no new tags', '^ignored'] },
    events: [
      scanned('app', 3),
      { ...scanned('app', 0), message: 'no new tags found, next scan in 5m' },
    ],
  },
  {
    id: 'severity-error',
    title: 'eventSeverity error: Warning events only',
    provider: generic(),
    alert: { ...byName, eventSeverity: 'error' },
    events: [scanned('app', 3), scanned('app', 0, 'Warning')],
  },
  {
    id: 'metadata-summary',
    title:
      'eventMetadata and summary added to the metadata, the controller’s revision kept',
    provider: generic(),
    alert: {
      eventSources: [{ kind: 'GitRepository', name: 'repo' }],
      summary: 'Fleet sources',
      eventMetadata: { cluster: 'staging-1', region: 'eu-west-1' },
    },
    events: [fetched],
  },
  {
    id: 'metadata-conflict',
    title:
      'eventMetadata keys that the summary and the controller’s revision override',
    provider: generic(),
    alert: {
      eventSources: [{ kind: 'GitRepository', name: 'repo' }],
      summary: 'from spec.summary',
      eventMetadata: { summary: 'from eventMetadata', revision: 'ignored' },
    },
    events: [fetched],
  },
  {
    id: 'suspended-alert',
    title: 'a suspended Alert sends nothing',
    provider: generic(),
    alert: { ...byName, suspend: true },
    events: [scanned('app', 3)],
  },
  {
    id: 'missing-provider',
    title: 'an Alert referring to a Provider that does not exist',
    provider: generic(),
    alert: { ...byName, providerRef: { name: 'absent' } },
    events: [scanned('app', 3)],
    difference: {
      reason:
        'a missing Provider makes the Alert not Ready (v1beta2 wording) where Flux fails each event',
      fields: {
        'alert.events': [
          [
            'Warning NotificationDispatchFailed: failed to dispatch notification for ImageRepository/n-missing-provider/app: failed to read provider: Provider.notification.toolkit.fluxcd.io "absent" not found',
          ],
          [
            `Warning Failed: failed to get provider 'n-missing-provider/absent': providers.notification.toolkit.fluxcd.io "absent" not found`,
          ],
        ],
      },
    },
  },
  {
    id: 'suspended-provider',
    title: 'a suspended Provider sends nothing',
    provider: { ...generic(), suspend: true },
    alert: byName,
    events: [scanned('app', 3)],
    difference: {
      reason:
        'an Alert whose Provider is suspended is not Ready (and says so once); Flux skips its events silently',
      fields: {
        'alert.events': [
          [],
          [
            'Warning Failed: provider n-suspended-provider/provider is not ready',
          ],
        ],
      },
    },
  },
  {
    id: 'closed-port',
    title: 'a Provider whose address refuses connections',
    provider: { type: 'generic', address: 'closed', timeout: '5s' },
    alert: byName,
    events: [scanned('app', 3)],
    difference: {
      reason:
        'the network error is Node’s, after our 5 attempts; Flux’s retries outlast the 5 s timeout, which bounds all its attempts',
      fields: {
        'alert.events': [
          [
            'Warning NotificationDispatchFailed: failed to send notification for ImageRepository/n-closed-port/app: postMessage failed: failed to execute request: context deadline exceeded',
          ],
          [
            'Warning NotificationDispatchFailed: failed to send notification for ImageRepository/n-closed-port/app: postMessage failed: failed to execute request: connect ECONNREFUSED {closed} (giving up after 5 attempts)',
          ],
        ],
      },
    },
  },
  {
    id: 'rejected',
    title: 'the stand-in answers 400: the failure is an event on the Alert',
    provider: { type: 'generic', address: { standInRejecting: 'reject' } },
    alert: byName,
    events: [scanned('app', 3)],
  },
  {
    id: 'duplicate-event',
    title: 'the same event twice within the rate-limit interval is sent once',
    provider: generic(),
    alert: byName,
    events: [{ ...scanned('app', 3), times: 2 }, scanned('app', 4)],
  },
  {
    id: 'invalid-regex',
    title: 'an inclusionList pattern that does not compile',
    provider: generic(),
    alert: { ...byName, inclusionList: ['(unclosed'] },
    events: [scanned('app', 3)],
    difference: {
      reason:
        'the pattern is checked when the Alert is reconciled (Stalled, with Go’s error), not at each event',
      fields: {
        'alert.events': [
          [
            'Warning InvalidConfig: failed to compile inclusion regex: (unclosed',
          ],
          [
            'Warning InvalidConfig: failed to compile inclusion regex: (unclosed: error parsing regexp: missing closing ): `(unclosed`',
          ],
        ],
      },
    },
  },
];

const RESOURCES_APP = [{ kind: 'ImageRepository', name: 'app' }];

export const RECEIVER_SCENARIOS: ReceiverScenario[] = [
  {
    id: 'recv-generic',
    title: 'generic Receiver: any call to the path reconciles the resources',
    receiver: { type: 'generic', resources: RESOURCES_APP },
    calls: [{ body: '{"anything":true}' }],
  },
  {
    id: 'recv-generic-hmac',
    title: 'generic-hmac Receiver: a call signed with the token',
    receiver: { type: 'generic-hmac', resources: RESOURCES_APP },
    calls: [{ body: '{"ref":"refs/heads/main"}', sign: 'x-signature' }],
  },
  {
    id: 'recv-bad-signature',
    title: 'generic-hmac Receiver: a call signed with another key',
    receiver: { type: 'generic-hmac', resources: RESOURCES_APP },
    calls: [
      {
        body: '{"ref":"refs/heads/main"}',
        sign: 'x-signature',
        wrongKey: true,
      },
    ],
    difference: {
      reason:
        'a wrong signature is answered 404 like an unknown path (Flux: 400)',
      fields: { answers: [[400], [404]] },
    },
  },
  {
    id: 'recv-github-push',
    title:
      'github Receiver: a signed push reconciles an ImageRepository and a GitRepository',
    receiver: {
      type: 'github',
      events: ['push'],
      resources: [
        { kind: 'ImageRepository', name: 'app' },
        { kind: 'GitRepository', name: 'repo' },
      ],
    },
    calls: [
      {
        body: '{"ref":"refs/heads/main","after":"8b1f6e5a"}',
        headers: { 'X-GitHub-Event': 'push' },
        sign: 'github',
      },
    ],
  },
  {
    id: 'recv-github-ping',
    title: 'github Receiver: the ping GitHub sends when the webhook is created',
    receiver: {
      type: 'github',
      events: ['ping', 'push'],
      resources: RESOURCES_APP,
    },
    calls: [
      {
        body: '{"zen":"Keep it logically awesome.","hook_id":1}',
        headers: { 'X-GitHub-Event': 'ping' },
        sign: 'github',
      },
    ],
    difference: {
      reason: 'a GitHub ping is acknowledged and reconciles nothing',
      fields: { requested: [['ImageRepository/app'], []] },
    },
  },
  {
    id: 'recv-github-other-event',
    title: 'github Receiver: an event not in spec.events',
    receiver: { type: 'github', events: ['push'], resources: RESOURCES_APP },
    calls: [
      {
        body: '{"action":"published"}',
        headers: { 'X-GitHub-Event': 'release' },
        sign: 'github',
      },
    ],
  },
  {
    id: 'recv-github-bad-signature',
    title: 'github Receiver: a push signed with another key',
    receiver: { type: 'github', events: ['push'], resources: RESOURCES_APP },
    calls: [
      {
        body: '{"ref":"refs/heads/main"}',
        headers: { 'X-GitHub-Event': 'push' },
        sign: 'github',
        wrongKey: true,
      },
    ],
    difference: {
      reason:
        'a wrong signature is answered 404 like an unknown path (Flux: 400)',
      fields: { answers: [[400], [404]] },
    },
  },
  {
    id: 'recv-match-labels',
    title: 'a resource `*` with matchLabels: only the labelled objects',
    receiver: {
      type: 'generic',
      resources: [
        { kind: 'ImageRepository', name: '*', matchLabels: { team: 'b' } },
      ],
    },
    calls: [{ body: '{}' }],
  },
  {
    id: 'recv-unknown-resource',
    title: 'a resource that does not exist',
    receiver: {
      type: 'generic',
      resources: [{ kind: 'ImageRepository', name: 'absent' }],
    },
    calls: [{ body: '{}' }],
    difference: {
      reason:
        'a resource that is not found is a Warning event on the Receiver, not a 500 answer',
      fields: { answers: [[500], [200]] },
    },
  },
  {
    id: 'recv-missing-secret',
    title: 'a secretRef naming nothing',
    receiver: {
      type: 'generic',
      secretRef: { name: 'absent' },
      resources: RESOURCES_APP,
    },
    calls: [{ body: '{}' }],
    difference: {
      reason:
        'the token is a named credential: a missing one is named so and Stalls the Receiver (nothing but a config change fixes it)',
      fields: {
        'receiver.conditions': [
          [
            {
              type: 'Ready',
              status: 'False',
              reason: 'TokenNotFound',
              message:
                'unable to read token from secret \'n-recv-missing-secret/absent\' error: secrets "absent" not found',
            },
            {
              type: 'Reconciling',
              status: 'True',
              reason: 'ProgressingWithRetry',
              message: 'Reconciliation in progress',
            },
          ],
          [
            {
              type: 'Ready',
              status: 'False',
              reason: 'TokenNotFound',
              message:
                "unable to read token from credential 'absent': credential 'absent' is not defined in imageAutomation.credentials",
            },
            {
              type: 'Stalled',
              status: 'True',
              reason: 'TokenNotFound',
              message:
                "unable to read token from credential 'absent': credential 'absent' is not defined in imageAutomation.credentials",
            },
          ],
        ],
      },
    },
  },
  {
    id: 'recv-suspended',
    title: 'a suspended Receiver',
    receiver: { type: 'generic', suspend: true, resources: RESOURCES_APP },
    calls: [{ body: '{}' }],
  },
];

/** Every scenario id, Alert scenarios first. */
export const SCENARIO_IDS = [
  ...ALERT_SCENARIOS.map(s => s.id),
  ...RECEIVER_SCENARIOS.map(s => s.id),
];
