import { StoredObject } from '../store/ObjectStore';
import {
  AlertSpec,
  alertMatches,
  DuplicateFilter,
  FluxEvent,
  invalidPattern,
  metadataConflicts,
  toFluxEvent,
  withAlertMetadata,
} from './fluxEvent';

// How an Alert chooses events, as notification-controller v1.5.0's event server does
// (internal/server/event_handlers.go): sources, severity, inclusion/exclusion lists, metadata,
// and the rate limit of identical events.

function event(
  overrides: Partial<FluxEvent> & {
    kind?: string;
    name?: string;
    namespace?: string;
  } = {},
): FluxEvent {
  const {
    kind = 'ImageRepository',
    name = 'podinfo',
    namespace = 'apps',
    ...rest
  } = overrides;
  return {
    involvedObject: {
      kind,
      namespace,
      name,
      apiVersion: 'image.toolkit.fluxcd.io/v1',
    },
    severity: 'info',
    timestamp: '2026-12-03T20:00:00Z',
    message: 'successful scan: found 3 tags',
    reason: 'Succeeded',
    reportingController: 'image-reflector-controller',
    ...rest,
  };
}

function alert(overrides: Partial<AlertSpec> = {}): AlertSpec {
  return {
    providerRef: { name: 'slack' },
    eventSources: [{ kind: 'ImageRepository', name: '*' }],
    ...overrides,
  };
}

describe('alertMatches (eventSources)', () => {
  it('matches the kind with a `*` name in the Alert’s own namespace when the source names none', () => {
    expect(alertMatches(alert(), 'apps', event())).toBe(true);
    expect(alertMatches(alert(), 'other', event())).toBe(false);
    expect(alertMatches(alert(), 'apps', event({ kind: 'ImagePolicy' }))).toBe(
      false,
    );
  });

  it('matches an exact name only, and a source namespace other than the Alert’s', () => {
    const spec = alert({
      eventSources: [
        { kind: 'ImageRepository', name: 'podinfo', namespace: 'team' },
      ],
    });
    expect(alertMatches(spec, 'apps', event({ namespace: 'team' }))).toBe(true);
    expect(alertMatches(spec, 'apps', event({ namespace: 'apps' }))).toBe(
      false,
    );
    expect(
      alertMatches(
        spec,
        'apps',
        event({ namespace: 'team', name: 'podinfo-2' }),
      ),
    ).toBe(false);
  });

  it('a `*` is a wildcard only as the whole name (no glob)', () => {
    const spec = alert({
      eventSources: [{ kind: 'ImageRepository', name: 'pod*' }],
    });
    expect(alertMatches(spec, 'apps', event())).toBe(false);
    expect(alertMatches(spec, 'apps', event({ name: 'pod*' }))).toBe(true);
  });

  it('matchLabels need every label on the involved object', () => {
    const spec = alert({
      eventSources: [
        {
          kind: 'ImageRepository',
          name: '*',
          matchLabels: { team: 'a', tier: 'web' },
        },
      ],
    });
    expect(
      alertMatches(spec, 'apps', event(), {
        team: 'a',
        tier: 'web',
        extra: 'x',
      }),
    ).toBe(true);
    expect(alertMatches(spec, 'apps', event(), { team: 'a' })).toBe(false);
    expect(
      alertMatches(spec, 'apps', event(), { team: 'b', tier: 'web' }),
    ).toBe(false);
    expect(alertMatches(spec, 'apps', event())).toBe(false);
  });

  it('any one of several sources is enough', () => {
    const spec = alert({
      eventSources: [
        { kind: 'ResourceSet', name: '*' },
        { kind: 'ImagePolicy', name: 'podinfo' },
      ],
    });
    expect(
      alertMatches(spec, 'apps', event({ kind: 'ResourceSet', name: 'apps' })),
    ).toBe(true);
    expect(alertMatches(spec, 'apps', event({ kind: 'ImagePolicy' }))).toBe(
      true,
    );
    expect(alertMatches(spec, 'apps', event())).toBe(false);
  });

  it('a suspended Alert takes nothing', () => {
    expect(alertMatches(alert({ suspend: true }), 'apps', event())).toBe(false);
  });
});

describe('alertMatches (eventSeverity)', () => {
  it('info (the default) takes every event; error only Warning events', () => {
    const warning = event({ severity: 'error' });
    expect(alertMatches(alert(), 'apps', event())).toBe(true);
    expect(alertMatches(alert(), 'apps', warning)).toBe(true);
    expect(
      alertMatches(alert({ eventSeverity: 'info' }), 'apps', warning),
    ).toBe(true);
    expect(
      alertMatches(alert({ eventSeverity: 'error' }), 'apps', warning),
    ).toBe(true);
    expect(
      alertMatches(alert({ eventSeverity: 'error' }), 'apps', event()),
    ).toBe(false);
  });
});

describe('alertMatches (inclusionList / exclusionList, Go regexps)', () => {
  it('an inclusion list lets through only messages one pattern matches (unanchored)', () => {
    const spec = alert({
      inclusionList: ['^successful scan', 'latest image tag for .* updated'],
    });
    expect(alertMatches(spec, 'apps', event())).toBe(true);
    expect(
      alertMatches(
        spec,
        'apps',
        event({ message: "latest image tag for 'x' updated from 1 to 2" }),
      ),
    ).toBe(true);
    expect(alertMatches(spec, 'apps', event({ message: 'no new tags' }))).toBe(
      false,
    );
  });

  it('an exclusion list drops matching messages, after inclusion', () => {
    const spec = alert({
      inclusionList: ['scan'],
      exclusionList: ['(?i)FOUND \\d+ TAGS$'],
    });
    expect(alertMatches(spec, 'apps', event())).toBe(false);
    expect(
      alertMatches(spec, 'apps', event({ message: 'scan failed: 401' })),
    ).toBe(true);
  });

  it('Go syntax: \\z, (?s) and \\pL work; a pattern that does not compile never matches and is reported', () => {
    expect(
      alertMatches(alert({ inclusionList: ['tags\\z'] }), 'apps', event()),
    ).toBe(true);
    expect(
      alertMatches(alert({ exclusionList: ['(?s)found.3'] }), 'apps', event()),
    ).toBe(false);
    expect(
      alertMatches(alert({ inclusionList: ['^\\pL+ scan'] }), 'apps', event()),
    ).toBe(true);
    // Lookahead is not Go syntax.
    const spec = alert({ inclusionList: ['(?=scan)'] });
    expect(alertMatches(spec, 'apps', event())).toBe(false);
    expect(invalidPattern(spec)).toMatch(
      /^failed to compile inclusion regex: \(\?=scan\): error parsing regexp: /,
    );
    expect(invalidPattern(alert({ exclusionList: ['a{2,1}'] }))).toMatch(
      /^failed to compile exclusion regex: a\{2,1\}/,
    );
    expect(invalidPattern(alert({ inclusionList: ['ok'] }))).toBeUndefined();
  });

  it('a catastrophic-backtracking pattern runs in linear time', () => {
    const spec = alert({ inclusionList: ['^(a+)+$'] });
    const started = Date.now();
    expect(
      alertMatches(spec, 'apps', event({ message: `${'a'.repeat(5000)}!` })),
    ).toBe(false);
    expect(Date.now() - started).toBeLessThan(2000);
  });
});

describe('withAlertMetadata', () => {
  it('adds eventMetadata and summary (which wins over eventMetadata.summary), keys sorted', () => {
    const sent = withAlertMetadata(
      event(),
      alert({
        eventMetadata: { region: 'eu-west-1', cluster: 'prod', summary: 'x' },
        summary: 'Prod impacted',
      }),
    );
    expect(Object.entries(sent.metadata!)).toEqual([
      ['cluster', 'prod'],
      ['region', 'eu-west-1'],
      ['summary', 'Prod impacted'],
    ]);
  });

  it('leaves the event without metadata when the Alert has none', () => {
    expect(withAlertMetadata(event(), alert()).metadata).toBeUndefined();
  });

  it('the controller’s own metadata (a revision) wins over eventMetadata and summary, as in Flux’s RFC 0008 order', () => {
    const sent = withAlertMetadata(
      event({
        metadata: { revision: 'main@sha1:abc', summary: 'from the controller' },
      }),
      alert({
        eventMetadata: { revision: 'spoofed', cluster: 'prod' },
        summary: 'Prod impacted',
      }),
    );
    expect(Object.entries(sent.metadata!)).toEqual([
      ['cluster', 'prod'],
      ['revision', 'main@sha1:abc'],
      ['summary', 'from the controller'],
    ]);
    expect(
      withAlertMetadata(event({ metadata: { revision: 'r' } }), alert())
        .metadata,
    ).toEqual({ revision: 'r' });
  });
});

describe('metadataConflicts (Flux’s MetadataAppendFailed)', () => {
  it('names the keys more than one source gives: eventMetadata, summary, the controller’s metadata', () => {
    expect(
      metadataConflicts(
        event({ metadata: { revision: 'r' } }),
        alert({
          summary: 's',
          eventMetadata: { summary: 'x', revision: 'y', cluster: 'prod' },
        }),
      ),
    ).toEqual(['revision', 'summary']);
    expect(
      metadataConflicts(
        event({ metadata: { revision: 'r' } }),
        alert({ summary: 's', eventMetadata: { cluster: 'prod' } }),
      ),
    ).toEqual([]);
    expect(
      metadataConflicts(
        event({ metadata: { summary: 'from the controller' } }),
        alert({ summary: 's' }),
      ),
    ).toEqual(['summary']);
    expect(metadataConflicts(event(), alert())).toEqual([]);
  });
});

describe('DuplicateFilter (Flux’s rate limit of identical events)', () => {
  it('lets one of identical events through per window, per object and message', () => {
    const filter = new DuplicateFilter(300_000);
    expect(filter.admit(event(), 0)).toBe(true);
    expect(
      filter.admit(event({ reason: 'Other', severity: 'error' }), 1000),
    ).toBe(false);
    expect(
      filter.admit(event({ message: 'successful scan: found 4 tags' }), 1000),
    ).toBe(true);
    expect(filter.admit(event({ name: 'other' }), 1000)).toBe(true);
    expect(filter.admit(event({ kind: 'ImagePolicy' }), 1000)).toBe(true);
    expect(filter.admit(event({ namespace: 'team' }), 1000)).toBe(true);
    expect(filter.admit(event(), 299_999)).toBe(false);
    expect(filter.admit(event(), 300_000)).toBe(true);
  });

  it('tells identical messages about different revisions apart, as Flux’s key includes originRevision, revision and token', () => {
    const filter = new DuplicateFilter(300_000);
    expect(
      filter.admit(event({ metadata: { revision: 'main@sha1:1' } }), 0),
    ).toBe(true);
    expect(
      filter.admit(event({ metadata: { revision: 'main@sha1:1' } }), 1),
    ).toBe(false);
    expect(
      filter.admit(event({ metadata: { revision: 'main@sha1:2' } }), 2),
    ).toBe(true);
    expect(
      filter.admit(
        event({ metadata: { revision: 'main@sha1:2', originRevision: 'o' } }),
        3,
      ),
    ).toBe(true);
    expect(
      filter.admit(
        event({ metadata: { revision: 'main@sha1:2', token: 't' } }),
        4,
      ),
    ).toBe(true);
    // Other metadata is not part of the key.
    expect(
      filter.admit(
        event({ metadata: { revision: 'main@sha1:2', cluster: 'x' } }),
        5,
      ),
    ).toBe(false);
  });

  it('a window of 0 turns it off', () => {
    const filter = new DuplicateFilter(0);
    expect(filter.admit(event(), 0)).toBe(true);
    expect(filter.admit(event(), 0)).toBe(true);
  });
});

describe('toFluxEvent', () => {
  const object = {
    kind: 'ResourceSet',
    apiVersion: 'fluxcd.controlplane.io/v1',
    namespace: 'apps',
    name: 'podinfo',
  } as StoredObject;

  it('maps Warning to error and Normal to info, with the controller Flux names', () => {
    const warning = toFluxEvent(
      {
        objectId: 'ResourceSet/apps/podinfo',
        time: '2026-12-03T20:00:00.123Z',
        type: 'Warning',
        reason: 'BuildFailed',
        message: 'boom',
      },
      object,
    );
    expect(warning).toEqual({
      involvedObject: {
        kind: 'ResourceSet',
        namespace: 'apps',
        name: 'podinfo',
        apiVersion: 'fluxcd.controlplane.io/v1',
      },
      severity: 'error',
      timestamp: '2026-12-03T20:00:00Z',
      message: 'boom',
      reason: 'BuildFailed',
      reportingController: 'flux-operator',
    });
    expect(
      toFluxEvent(
        {
          objectId: 'x',
          time: '2026-12-03T20:00:00Z',
          type: 'Normal',
          reason: 'R',
          message: 'm',
        },
        object,
      ).severity,
    ).toBe('info');
  });

  it('carries the metadata a reconciler attached, keys sorted; none when it is empty', () => {
    const base = {
      objectId: 'x',
      time: '2026-12-03T20:00:00Z',
      type: 'Normal' as const,
      reason: 'R',
      message: 'm',
    };
    const sent = toFluxEvent(
      { ...base, metadata: { revision: 'main@sha1:abc', commit: 'abc' } },
      object,
    );
    expect(Object.entries(sent.metadata!)).toEqual([
      ['commit', 'abc'],
      ['revision', 'main@sha1:abc'],
    ]);
    expect(toFluxEvent({ ...base, metadata: {} }, object)).not.toHaveProperty(
      'metadata',
    );
  });
});
