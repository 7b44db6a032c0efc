import {
  PROMOTION_ANNOTATIONS as A,
  PromotionPin,
  PromotionVote,
} from '@imageops/backstage-plugin-image-automation-common';
import { evaluateGates, GateEvidence } from './evaluateGates';
import { GateConfig, readGateConfig } from './gateConfig';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const DIGEST = 'sha256:1111';
const OLD_DIGEST = 'sha256:0000';
/** A Wednesday. */
const NOW = new Date('2026-06-10T12:00:00Z');

function evidence(overrides: Partial<GateEvidence> = {}): GateEvidence {
  return { now: NOW, digest: DIGEST, votes: [], toTag: '1.4.0', ...overrides };
}

function vote(
  actor: string,
  decision: PromotionVote['decision'] = 'approve',
  digest = DIGEST,
): PromotionVote {
  return { actor, decision, digest, at: '2026-06-10T10:00:00Z' };
}

const ago = (ms: number, now = NOW) => new Date(now.getTime() - ms);

/** The single gate of a one-gate evaluation. */
function gateOf(config: GateConfig, overrides: Partial<GateEvidence> = {}) {
  const result = evaluateGates(config, [], evidence(overrides));
  expect(result.gates).toHaveLength(1);
  return { ...result.gates[0], passed: result.passed, overallEta: result.eta };
}

describe('evaluateGates', () => {
  it('passes a promotion without gates', () => {
    expect(evaluateGates({}, [], evidence())).toEqual({
      gates: [],
      passed: true,
    });
  });

  describe('pin', () => {
    const pin: PromotionPin = {
      targetId: 'git:flux-system/apps',
      subject: 'ImagePolicy/flux-system/app',
      version: { tag: '1.3.9', digest: OLD_DIGEST },
      reason: 'incident 4711',
      by: 'user:default/alice',
      at: '2026-06-09T08:00:00Z',
    };

    it('holds the promotion with no eta', () => {
      expect(evaluateGates({}, [], evidence({ pin }))).toEqual({
        gates: [
          {
            gate: 'pin',
            state: 'waiting',
            summary: 'pinned at 1.3.9 by user:default/alice: incident 4711',
            evidence: { ...pin },
          },
        ],
        passed: false,
      });
    });

    it('holds the promotion until the pin expires', () => {
      const expiring = { ...pin, expiresAt: '2026-06-11T08:00:00.000Z' };
      expect(evaluateGates({}, [], evidence({ pin: expiring }))).toEqual({
        gates: [
          {
            gate: 'pin',
            state: 'waiting',
            summary:
              'pinned at 1.3.9 by user:default/alice: incident 4711 until 2026-06-11T08:00:00.000Z',
            evidence: { ...expiring },
            eta: '2026-06-11T08:00:00.000Z',
          },
        ],
        passed: false,
        eta: '2026-06-11T08:00:00.000Z',
      });
    });

    it('lets the promotion through once the pin has expired', () => {
      const expired = { ...pin, expiresAt: '2026-06-10T11:00:00.000Z' };
      expect(gateOf({}, { pin: expired })).toMatchObject({
        gate: 'pin',
        state: 'passed',
        summary: 'pin at 1.3.9 expired 2026-06-10T11:00:00.000Z',
        passed: true,
      });
    });
  });

  describe('approval', () => {
    it.each([
      [[], 'approval 0/2', 'waiting'],
      [[vote('user:default/alice')], 'approval 1/2', 'waiting'],
      [
        [vote('user:default/alice'), vote('user:default/bob')],
        'approval 2/2',
        'passed',
      ],
      [
        [
          vote('user:default/alice'),
          vote('user:default/bob'),
          vote('user:default/carol'),
        ],
        'approval 3/2',
        'passed',
      ],
    ])('counts approvals: %j', (votes, summary, state) => {
      const gate = gateOf({ approvals: 2 }, { votes });
      expect(gate).toMatchObject({ gate: 'approval', summary, state });
      expect(gate.passed).toBe(state === 'passed');
      expect(gate.eta).toBeUndefined();
      expect(gate.overallEta).toBeUndefined();
    });

    it('counts an actor who voted twice once, whatever the spelling of the ref', () => {
      const gate = gateOf(
        { approvals: 2 },
        {
          votes: [
            vote('user:default/alice'),
            vote('user:default/alice'),
            vote('User:default/Alice'),
          ],
        },
      );
      expect(gate).toMatchObject({
        state: 'waiting',
        summary: 'approval 1/2',
        evidence: {
          required: 2,
          approvedBy: ['user:default/alice'],
          digest: DIGEST,
          staleVotes: 0,
        },
      });
    });

    it('does not count votes for another digest', () => {
      const gate = gateOf(
        { approvals: 2 },
        {
          votes: [
            vote('user:default/alice', 'approve', OLD_DIGEST),
            vote('user:default/bob', 'approve', OLD_DIGEST),
            vote('user:default/carol'),
            vote('user:default/dave', 'reject', OLD_DIGEST),
          ],
        },
      );
      expect(gate).toEqual({
        gate: 'approval',
        state: 'waiting',
        summary: 'approval 1/2',
        evidence: {
          required: 2,
          approvedBy: ['user:default/carol'],
          digest: DIGEST,
          staleVotes: 2,
        },
        passed: false,
        overallEta: undefined,
      });
    });

    it('counts votes cast for the tag when no digest is known', () => {
      const gate = gateOf(
        { approvals: 1 },
        {
          digest: '1.4.0',
          votes: [vote('user:default/alice', 'approve', '1.4.0')],
        },
      );
      expect(gate).toMatchObject({ state: 'passed', summary: 'approval 1/1' });
    });

    it('never passes once someone rejected the digest', () => {
      const gate = gateOf(
        { approvals: 1 },
        {
          votes: [
            vote('user:default/bob', 'reject'),
            vote('user:default/alice'),
            vote('user:default/bob'),
          ],
        },
      );
      expect(gate).toMatchObject({
        gate: 'approval',
        state: 'waiting',
        summary: 'rejected by user:default/bob',
        evidence: {
          approvedBy: ['user:default/alice', 'user:default/bob'],
          rejectedBy: ['user:default/bob'],
        },
        passed: false,
      });
    });
  });

  describe('soak', () => {
    it.each([
      [DAY - 3 * HOUR, 'soak 3h left'],
      [-2 * HOUR, 'soak 1d 2h left'],
      [DAY - 45 * 60_000, 'soak 45m left'],
      [DAY - 30_000, 'soak 30s left'],
      [DAY - 500, 'soak 1s left'],
      [DAY - (2 * HOUR + 30 * 60_000 + 15_000), 'soak 2h 30m left'],
      [DAY - (DAY + 5 * 60_000), 'soak 1d left'],
    ])(
      'waits while the tag is younger than the soak (age %d ms)',
      (age, summary) => {
        const firstSeenAt = ago(age);
        const gate = gateOf({ soakMs: DAY }, { firstSeenAt });
        const eta = new Date(firstSeenAt.getTime() + DAY).toISOString();
        expect(gate).toEqual({
          gate: 'soak',
          state: 'waiting',
          summary,
          evidence: {
            soak: '24h0m0s',
            firstSeenAt: firstSeenAt.toISOString(),
            endsAt: eta,
          },
          eta,
          passed: false,
          overallEta: eta,
        });
      },
    );

    it('passes once the tag is as old as the soak', () => {
      expect(gateOf({ soakMs: DAY }, { firstSeenAt: ago(DAY) })).toMatchObject({
        state: 'passed',
        summary: 'soaked 1d (soak 24h0m0s)',
        passed: true,
      });
      expect(
        gateOf({ soakMs: DAY }, { firstSeenAt: ago(3 * DAY + 4 * HOUR + 1) }),
      ).toMatchObject({
        state: 'passed',
        summary: 'soaked 3d 4h (soak 24h0m0s)',
      });
    });

    it('waits without an eta when the first-seen time is unknown', () => {
      expect(gateOf({ soakMs: DAY })).toEqual({
        gate: 'soak',
        state: 'waiting',
        summary: 'soak: first-seen time unknown',
        evidence: { soak: '24h0m0s' },
        passed: false,
        overallEta: undefined,
      });
    });

    it('passes a zero soak without a first-seen time', () => {
      expect(gateOf({ soakMs: 0 })).toMatchObject({
        state: 'passed',
        summary: 'soak 0s',
      });
    });
  });

  describe('window', () => {
    const weekdays = (timeZone: string) => ({
      window: { cron: '0 9 * * 1-5', durationMs: 8 * HOUR, timeZone },
    });

    it('passes while the window is open', () => {
      expect(gateOf(weekdays('UTC'))).toEqual({
        gate: 'window',
        state: 'passed',
        summary: 'window open until Wed 17:00 (UTC)',
        evidence: {
          cron: '0 9 * * 1-5',
          timeZone: 'UTC',
          duration: '8h0m0s',
          openedAt: '2026-06-10T09:00:00.000Z',
          closesAt: '2026-06-10T17:00:00.000Z',
        },
        passed: true,
        overallEta: undefined,
      });
    });

    it('opens at the activation and closes at its end', () => {
      expect(
        gateOf(weekdays('UTC'), { now: new Date('2026-06-10T09:00:00Z') }),
      ).toMatchObject({ state: 'passed' });
      expect(
        gateOf(weekdays('UTC'), { now: new Date('2026-06-10T08:59:59Z') }),
      ).toMatchObject({ state: 'waiting', eta: '2026-06-10T09:00:00.000Z' });
      expect(
        gateOf(weekdays('UTC'), { now: new Date('2026-06-10T17:00:00Z') }),
      ).toMatchObject({
        state: 'waiting',
        summary: 'window opens Thu 09:00 (UTC)',
        eta: '2026-06-11T09:00:00.000Z',
      });
    });

    it('waits for the next opening, on the clocks of its time zone', () => {
      expect(
        gateOf(weekdays('Europe/Berlin'), {
          now: new Date('2026-06-12T16:00:00Z'),
        }),
      ).toEqual({
        gate: 'window',
        state: 'waiting',
        summary: 'window opens Mon 09:00 (Europe/Berlin)',
        evidence: {
          cron: '0 9 * * 1-5',
          timeZone: 'Europe/Berlin',
          duration: '8h0m0s',
          opensAt: '2026-06-15T07:00:00.000Z',
        },
        eta: '2026-06-15T07:00:00.000Z',
        passed: false,
        overallEta: '2026-06-15T07:00:00.000Z',
      });
      // 12:00Z is 08:00 in New York.
      expect(
        gateOf(weekdays('America/New_York'), {
          now: new Date('2026-06-10T12:00:00Z'),
        }),
      ).toMatchObject({
        state: 'waiting',
        summary: 'window opens Wed 09:00 (America/New_York)',
        eta: '2026-06-10T13:00:00.000Z',
      });
      expect(
        gateOf(weekdays('America/New_York'), {
          now: new Date('2026-06-10T14:00:00Z'),
        }),
      ).toMatchObject({
        state: 'passed',
        summary: 'window open until Wed 17:00 (America/New_York)',
        evidence: { closesAt: '2026-06-10T21:00:00.000Z' },
      });
    });

    it('adds the date when the next opening is more than six days away', () => {
      const window = { cron: '0 9 4 1 *', durationMs: HOUR, timeZone: 'UTC' };
      expect(
        gateOf({ window }, { now: new Date('2026-12-20T12:00:00Z') }),
      ).toMatchObject({
        summary: 'window opens 2027-01-04 09:00 (UTC)',
        eta: '2027-01-04T09:00:00.000Z',
      });
      expect(
        gateOf({ window }, { now: new Date('2026-12-30T12:00:00Z') }),
      ).toMatchObject({ summary: 'window opens Mon 09:00 (UTC)' });
    });

    it('treats a window longer than its period as always open', () => {
      const window = {
        cron: '0 * * * *',
        durationMs: 2 * HOUR,
        timeZone: 'UTC',
      };
      expect(gateOf({ window })).toMatchObject({
        state: 'passed',
        summary: 'window open until Wed 14:00 (UTC)',
      });
    });

    describe('across daylight-saving changes in Europe/Berlin', () => {
      const at2 = {
        window: {
          cron: '0 2 * * *',
          durationMs: HOUR,
          timeZone: 'Europe/Berlin',
        },
      };

      it('skips a window whose opening time does not exist (spring forward)', () => {
        // 2026-03-29: clocks jump from 02:00 CET to 03:00 CEST, so 02:00 never happens.
        expect(
          gateOf(at2, { now: new Date('2026-03-28T01:30:00Z') }),
        ).toMatchObject({
          state: 'passed',
          summary: 'window open until Sat 03:00 (Europe/Berlin)',
          evidence: { closesAt: '2026-03-28T02:00:00.000Z' },
        });
        for (const now of ['2026-03-29T00:30:00Z', '2026-03-29T01:30:00Z']) {
          expect(gateOf(at2, { now: new Date(now) })).toMatchObject({
            state: 'waiting',
            summary: 'window opens Mon 02:00 (Europe/Berlin)',
            eta: '2026-03-30T00:00:00.000Z',
          });
        }
        expect(
          gateOf(at2, { now: new Date('2026-03-30T00:59:59Z') }),
        ).toMatchObject({
          state: 'passed',
          summary: 'window open until Mon 03:00 (Europe/Berlin)',
        });
      });

      it('keeps a window open for its real duration when clocks fall back', () => {
        // 2026-10-25: clocks fall back from 03:00 CEST to 02:00 CET. The window opens at
        // 01:30 CEST (23:30Z) and stays open two real hours, until 02:30 CET (01:30Z).
        const window = {
          cron: '30 1 * * *',
          durationMs: 2 * HOUR,
          timeZone: 'Europe/Berlin',
        };
        expect(
          gateOf({ window }, { now: new Date('2026-10-25T01:00:00Z') }),
        ).toMatchObject({
          state: 'passed',
          summary: 'window open until Sun 02:30 (Europe/Berlin)',
          evidence: {
            openedAt: '2026-10-24T23:30:00.000Z',
            closesAt: '2026-10-25T01:30:00.000Z',
          },
        });
        expect(
          gateOf({ window }, { now: new Date('2026-10-25T01:30:00Z') }),
        ).toMatchObject({
          state: 'waiting',
          summary: 'window opens Mon 01:30 (Europe/Berlin)',
          eta: '2026-10-26T00:30:00.000Z',
        });
      });

      it('opens weekday windows at 09:00 local time on both sides of the change', () => {
        const friday = gateOf(weekdays('Europe/Berlin'), {
          now: new Date('2026-10-23T10:00:00Z'),
        });
        expect(friday).toMatchObject({
          state: 'passed',
          summary: 'window open until Fri 17:00 (Europe/Berlin)',
          evidence: { openedAt: '2026-10-23T07:00:00.000Z' },
        });
        expect(
          gateOf(weekdays('Europe/Berlin'), {
            now: new Date('2026-10-23T16:00:00Z'),
          }),
        ).toMatchObject({
          state: 'waiting',
          summary: 'window opens Mon 09:00 (Europe/Berlin)',
          eta: '2026-10-26T08:00:00.000Z',
        });
        expect(
          gateOf(weekdays('Europe/Berlin'), {
            now: new Date('2026-10-26T15:30:00Z'),
          }),
        ).toMatchObject({
          state: 'passed',
          summary: 'window open until Mon 17:00 (Europe/Berlin)',
          evidence: { closesAt: '2026-10-26T16:00:00.000Z' },
        });
      });
    });

    it('reports a config with a bad spec or zone as an error', () => {
      const result = evaluateGates(
        { window: { cron: '0 9 * *', durationMs: HOUR, timeZone: 'UTC' } },
        [],
        evidence(),
      );
      expect(result).toEqual({
        gates: [
          {
            gate: 'window',
            state: 'error',
            summary: expect.stringContaining(
              `${A.window}: failed to parse cron spec '0 9 * *'`,
            ),
            evidence: { annotation: A.window },
          },
        ],
        passed: false,
      });
      expect(
        evaluateGates(
          {
            window: {
              cron: '0 9 * * *',
              durationMs: HOUR,
              timeZone: 'Moon/Base',
            },
          },
          [],
          evidence(),
        ).gates[0],
      ).toMatchObject({
        state: 'error',
        summary: expect.stringContaining('Moon/Base'),
      });
      // February 30th parses but never comes.
      expect(
        evaluateGates(
          { window: { cron: '0 0 30 2 *', durationMs: HOUR, timeZone: 'UTC' } },
          [],
          evidence(),
        ),
      ).toMatchObject({
        gates: [
          {
            state: 'error',
            summary: `${A.window}: the schedule has no activation in the next five years`,
          },
        ],
        passed: false,
      });
    });
  });

  describe('upstream', () => {
    const after = {
      entityRef: 'component:default/api-staging',
      soakMs: 2 * HOUR,
    };

    it('waits for the upstream to run the tag', () => {
      expect(gateOf({ after })).toEqual({
        gate: 'upstream',
        state: 'waiting',
        summary: 'waiting for component:default/api-staging to run 1.4.0',
        evidence: {
          entityRef: 'component:default/api-staging',
          soak: '2h0m0s',
        },
        passed: false,
        overallEta: undefined,
      });
      expect(
        gateOf({ after: { ...after, target: 'staging-eu' } }),
      ).toMatchObject({
        summary:
          'waiting for component:default/api-staging (staging-eu) to run 1.4.0',
        evidence: { target: 'staging-eu' },
      });
    });

    it('waits while the upstream is not Ready', () => {
      const upstream = {
        targetId: 'cluster:apps@staging',
        appliedAt: ago(DAY),
        ready: false,
        readyMessage: 'health check failed',
      };
      expect(gateOf({ after }, { upstream })).toEqual({
        gate: 'upstream',
        state: 'waiting',
        summary:
          'component:default/api-staging runs 1.4.0 but is not Ready: health check failed',
        evidence: {
          entityRef: 'component:default/api-staging',
          soak: '2h0m0s',
          targetId: 'cluster:apps@staging',
          appliedAt: ago(DAY).toISOString(),
          ready: false,
          readyMessage: 'health check failed',
        },
        passed: false,
        overallEta: undefined,
      });
      expect(
        gateOf(
          { after },
          { upstream: { ...upstream, readyMessage: undefined } },
        ).summary,
      ).toBe('component:default/api-staging runs 1.4.0 but is not Ready');
    });

    it('waits for the upstream soak', () => {
      const gate = gateOf(
        { after },
        {
          upstream: {
            targetId: 'cluster:apps@staging',
            appliedAt: ago(30 * 60_000),
            ready: true,
          },
        },
      );
      expect(gate).toMatchObject({
        state: 'waiting',
        summary: 'upstream soak 1h 30m left',
        eta: '2026-06-10T13:30:00.000Z',
        overallEta: '2026-06-10T13:30:00.000Z',
        evidence: { soakEndsAt: '2026-06-10T13:30:00.000Z', ready: true },
      });
    });

    it('passes once the upstream has run the tag, Ready, for the soak', () => {
      expect(
        gateOf(
          { after },
          {
            upstream: {
              targetId: 'cluster:apps@staging',
              appliedAt: ago(3 * DAY),
              ready: true,
            },
          },
        ),
      ).toMatchObject({
        state: 'passed',
        summary: 'component:default/api-staging has run 1.4.0 for 3d',
        passed: true,
      });
      expect(
        gateOf(
          { after: { ...after, soakMs: 0 } },
          { upstream: { targetId: 'git:x', appliedAt: NOW, ready: true } },
        ),
      ).toMatchObject({
        state: 'passed',
        summary: 'component:default/api-staging has run 1.4.0 for 0s',
      });
    });
  });

  describe('combined gates', () => {
    const all: GateConfig = {
      approvals: 1,
      soakMs: DAY,
      window: { cron: '0 9 * * 1-5', durationMs: 8 * HOUR, timeZone: 'UTC' },
      after: { entityRef: 'component:default/api-staging', soakMs: 0 },
    };
    const ready = {
      votes: [vote('user:default/alice')],
      firstSeenAt: ago(2 * DAY),
      upstream: { targetId: 'git:staging', appliedAt: ago(DAY), ready: true },
    };

    it('passes only when every gate passes, in the order pin, approval, soak, window, upstream', () => {
      const result = evaluateGates(all, [], evidence(ready));
      expect(result.gates.map(g => [g.gate, g.state])).toEqual([
        ['approval', 'passed'],
        ['soak', 'passed'],
        ['window', 'passed'],
        ['upstream', 'passed'],
      ]);
      expect(result.passed).toBe(true);
      expect(result.eta).toBeUndefined();
    });

    it.each([
      ['approval', { votes: [] }],
      ['soak', { firstSeenAt: ago(HOUR) }],
      ['window', { now: new Date('2026-06-13T12:00:00Z') }],
      ['upstream', { upstream: undefined }],
    ])('holds when the %s gate waits', (gate, overrides) => {
      const now = (overrides as Partial<GateEvidence>).now ?? NOW;
      const result = evaluateGates(
        all,
        [],
        evidence({
          ...ready,
          firstSeenAt: ago(2 * DAY, now),
          ...overrides,
        }),
      );
      expect(result.passed).toBe(false);
      expect(
        result.gates.filter(g => g.state !== 'passed').map(g => g.gate),
      ).toEqual([gate]);
    });

    it('puts a pin first and holds even when every other gate passes', () => {
      const pin: PromotionPin = {
        targetId: 'git:prod',
        subject: 'ImagePolicy/flux-system/app',
        version: { tag: '1.3.9' },
        reason: 'freeze',
        by: 'user:default/alice',
        at: '2026-06-01T00:00:00Z',
      };
      const result = evaluateGates(all, [], evidence({ ...ready, pin }));
      expect(result.gates.map(g => g.gate)).toEqual([
        'pin',
        'approval',
        'soak',
        'window',
        'upstream',
      ]);
      expect(result.passed).toBe(false);
      expect(result.eta).toBeUndefined();
    });

    it('gives the latest eta when every waiting gate has one', () => {
      const pin: PromotionPin = {
        targetId: 'git:prod',
        subject: 'ImagePolicy/flux-system/app',
        version: { tag: '1.3.9' },
        reason: 'freeze',
        by: 'user:default/alice',
        at: '2026-06-01T00:00:00Z',
        expiresAt: '2026-06-10T15:00:00.000Z',
      };
      const result = evaluateGates(
        {
          soakMs: DAY,
          after: { entityRef: 'component:default/a', soakMs: 4 * HOUR },
        },
        [],
        evidence({
          pin,
          firstSeenAt: ago(22 * HOUR),
          upstream: { targetId: 'git:a', appliedAt: ago(HOUR), ready: true },
        }),
      );
      expect(result.gates.map(g => g.eta)).toEqual([
        '2026-06-10T15:00:00.000Z',
        '2026-06-10T14:00:00.000Z',
        '2026-06-10T15:00:00.000Z',
      ]);
      expect(result.eta).toBe('2026-06-10T15:00:00.000Z');
    });

    it('gives no eta while a waiting gate needs a person or an event', () => {
      expect(
        evaluateGates(
          all,
          [],
          evidence({ ...ready, votes: [], firstSeenAt: ago(HOUR) }),
        ).eta,
      ).toBeUndefined();
      expect(
        evaluateGates({ soakMs: DAY, window: all.window }, [], evidence()).eta,
      ).toBeUndefined();
    });

    it('gives the window opening when the window is the last gate to pass', () => {
      const result = evaluateGates(
        { soakMs: DAY, window: all.window },
        [],
        evidence({
          now: new Date('2026-06-10T20:00:00Z'),
          firstSeenAt: ago(DAY),
        }),
      );
      expect(result.gates.map(g => [g.gate, g.state])).toEqual([
        ['soak', 'passed'],
        ['window', 'waiting'],
      ]);
      expect(result.eta).toBe('2026-06-11T09:00:00.000Z');

      const soakFirst = evaluateGates(
        { soakMs: DAY, window: all.window },
        [],
        evidence({
          now: new Date('2026-06-10T20:00:00Z'),
          firstSeenAt: new Date('2026-06-10T02:00:00Z'),
        }),
      );
      expect(soakFirst.gates.map(g => g.eta)).toEqual([
        '2026-06-11T02:00:00.000Z',
        '2026-06-11T09:00:00.000Z',
      ]);
      expect(soakFirst.eta).toBe('2026-06-11T09:00:00.000Z');
    });

    it('moves the eta to the next opening when the window is shut by then', () => {
      // Open now (Wed 12:00), but the soak ends Wed 19:00, after the window closes at 17:00.
      const result = evaluateGates(
        { soakMs: DAY, window: all.window },
        [],
        evidence({ firstSeenAt: new Date('2026-06-09T19:00:00Z') }),
      );
      expect(result.gates.map(g => [g.gate, g.state, g.eta])).toEqual([
        ['soak', 'waiting', '2026-06-10T19:00:00.000Z'],
        ['window', 'passed', undefined],
      ]);
      expect(result.eta).toBe('2026-06-11T09:00:00.000Z');

      const withinWindow = evaluateGates(
        { soakMs: DAY, window: all.window },
        [],
        evidence({ firstSeenAt: new Date('2026-06-09T15:00:00Z') }),
      );
      expect(withinWindow.eta).toBe('2026-06-10T15:00:00.000Z');
    });
  });

  describe('problems', () => {
    it('fails closed on a broken gate config, even with no gate left', () => {
      const { config, problems } = readGateConfig(
        { 'promotion.image-automation.io/aprovals': '2' },
        undefined,
      );
      expect(config).toEqual({});
      expect(evaluateGates(config, problems, evidence())).toEqual({
        gates: [
          {
            gate: 'approval',
            state: 'error',
            summary: expect.stringContaining(
              "unknown promotion gate annotation 'promotion.image-automation.io/aprovals'",
            ),
            evidence: { annotation: 'promotion.image-automation.io/aprovals' },
          },
        ],
        passed: false,
      });
    });

    it('fails closed when every configured gate passes, and gives no eta', () => {
      const { config, problems } = readGateConfig(
        {
          [A.soak]: '1h',
          [A.window]: '0 9 * * 1-5',
          [A.windowDuration]: '8h',
          [A.windowTimeZone]: 'Europe/Berlln',
        },
        undefined,
      );
      const result = evaluateGates(
        config,
        problems,
        evidence({ firstSeenAt: ago(DAY) }),
      );
      expect(result).toEqual({
        gates: [
          expect.objectContaining({ gate: 'soak', state: 'passed' }),
          {
            gate: 'window',
            state: 'error',
            summary: `${A.windowTimeZone}: 'Europe/Berlln' is not an IANA time zone such as Europe/Berlin`,
            evidence: { annotation: A.windowTimeZone },
          },
        ],
        passed: false,
      });
    });

    it('shows each problem under its gate, in gate order', () => {
      const { config, problems } = readGateConfig(
        {
          [A.afterSoak]: '1h',
          [A.approvals]: '2',
          [A.soak]: 'a while',
        },
        undefined,
      );
      const result = evaluateGates(
        config,
        problems,
        evidence({ votes: [vote('a'), vote('b')], firstSeenAt: ago(1) }),
      );
      expect(result.gates.map(g => [g.gate, g.state])).toEqual([
        ['approval', 'passed'],
        ['soak', 'error'],
        ['upstream', 'error'],
      ]);
      expect(result.passed).toBe(false);
      expect(result.eta).toBeUndefined();
    });
  });
});
