/**
 * The verdict of a promotion's gates on the evidence gathered for it: pure, with the clock
 * passed in.
 */

import {
  PROMOTION_ANNOTATIONS,
  PromotionGateName,
  PromotionGateResult,
  PromotionPin,
  PromotionVote,
} from '@imageops/backstage-plugin-image-automation-common';
import { CronSchedule, parseCronSchedule } from '../inputs/cronSchedule';
import { previousActivation } from '../inputs/inputScheduler';
import { formatGoDuration } from '../golib/time';
import { GateConfig, GateConfigProblem, problemGate } from './gateConfig';

/** What the gates of one promotion are evaluated on. @internal */
export interface GateEvidence {
  now: Date;
  /** The digest the promotion moves to, or its tag when no digest is known: votes count only for it. */
  digest: string;
  /** Every vote of the promotion, for any digest. */
  votes: PromotionVote[];
  /** When the tag was first seen (scan history). */
  firstSeenAt?: Date;
  /** The upstream target's record of the digest; undefined when upstream has not run it. */
  upstream?: {
    targetId: string;
    appliedAt: Date;
    ready: boolean;
    readyMessage?: string;
  };
  /** A pin on this target's subject. */
  pin?: PromotionPin;
  toTag: string;
}

const GATE_ORDER: PromotionGateName[] = [
  'pin',
  'approval',
  'soak',
  'window',
  'upstream',
];

const UNITS: Array<[string, number]> = [
  ['d', 86_400],
  ['h', 3_600],
  ['m', 60],
  ['s', 1],
];

/**
 * A duration in its largest two units (`1d 2h`, `45m`, `30s`). Time left is rounded up to the
 * second so a waiting gate never shows `0s left`; time elapsed is rounded down.
 */
function humanDuration(ms: number, rounding: 'up' | 'down'): string {
  const total = Math.max(
    0,
    rounding === 'up' ? Math.ceil(ms / 1000) : Math.floor(ms / 1000),
  );
  const first = UNITS.findIndex(([, seconds]) => total >= seconds);
  if (first === -1) return '0s';
  const [unit, seconds] = UNITS[first];
  let text = `${Math.floor(total / seconds)}${unit}`;
  const second = UNITS[first + 1];
  if (second) {
    const count = Math.floor((total % seconds) / second[1]);
    if (count > 0) text += ` ${count}${second[0]}`;
  }
  return text;
}

const SIX_DAYS_MS = 6 * 86_400_000;

/**
 * `Mon 09:00` on the zone's clocks, or `2027-01-04 09:00` when more than six days away, where a
 * weekday alone would be ambiguous.
 */
function formatWindowTime(when: Date, now: Date, timeZone: string): string {
  const parts: Record<string, string> = {};
  const format = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    weekday: 'short',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
  });
  for (const part of format.formatToParts(when)) parts[part.type] = part.value;
  const time = `${String(Number(parts.hour) % 24).padStart(2, '0')}:${
    parts.minute
  }`;
  return when.getTime() - now.getTime() > SIX_DAYS_MS
    ? `${parts.year}-${parts.month}-${parts.day} ${time}`
    : `${parts.weekday} ${time}`;
}

/** Whether the window is open at `at`: opened by the latest activation and not yet closed. */
function windowAt(
  cron: CronSchedule,
  durationMs: number,
  at: Date,
): { open: boolean; opened?: Date; closes?: Date; next: Date } {
  const { prev, next } = previousActivation(cron, at);
  // A later activation's window always ends after an earlier one's, so the latest decides.
  if (prev && at.getTime() < prev.getTime() + durationMs) {
    return {
      open: true,
      opened: prev,
      closes: new Date(prev.getTime() + durationMs),
      next,
    };
  }
  return { open: false, next };
}

function pinGate(pin: PromotionPin, now: Date): PromotionGateResult {
  const evidence = { ...pin } as Record<string, unknown>;
  // A pin lifts itself at expiresAt, whether or not it has been removed yet.
  if (pin.expiresAt && Date.parse(pin.expiresAt) <= now.getTime()) {
    return {
      gate: 'pin',
      state: 'passed',
      summary: `pin at ${pin.version.tag} expired ${pin.expiresAt}`,
      evidence,
    };
  }
  return {
    gate: 'pin',
    state: 'waiting',
    summary: `pinned at ${pin.version.tag} by ${pin.by}: ${pin.reason}${
      pin.expiresAt ? ` until ${pin.expiresAt}` : ''
    }`,
    evidence,
    ...(pin.expiresAt ? { eta: new Date(pin.expiresAt).toISOString() } : {}),
  };
}

/** Distinct actors, first spelling kept; entity refs compare case-insensitively. */
function distinctActors(votes: PromotionVote[]): string[] {
  const seen = new Map<string, string>();
  for (const vote of votes) {
    const key = vote.actor.toLocaleLowerCase('en-US');
    if (!seen.has(key)) seen.set(key, vote.actor);
  }
  return [...seen.values()];
}

function approvalGate(
  required: number,
  evidence: GateEvidence,
): PromotionGateResult {
  const forDigest = evidence.votes.filter(v => v.digest === evidence.digest);
  const approvedBy = distinctActors(
    forDigest.filter(v => v.decision === 'approve'),
  );
  const rejectedBy = distinctActors(
    forDigest.filter(v => v.decision === 'reject'),
  );
  const staleVotes = evidence.votes.filter(
    v => v.decision === 'approve' && v.digest !== evidence.digest,
  ).length;
  const facts = {
    required,
    approvedBy,
    digest: evidence.digest,
    staleVotes,
    ...(rejectedBy.length > 0 ? { rejectedBy } : {}),
  };
  // Any rejection holds, whatever its order among the votes: a later approval does not undo it.
  if (rejectedBy.length > 0) {
    return {
      gate: 'approval',
      state: 'waiting',
      summary: `rejected by ${rejectedBy.join(', ')}`,
      evidence: facts,
    };
  }
  return {
    gate: 'approval',
    state: approvedBy.length >= required ? 'passed' : 'waiting',
    summary: `approval ${approvedBy.length}/${required}`,
    evidence: facts,
  };
}

function soakGate(soakMs: number, evidence: GateEvidence): PromotionGateResult {
  const soak = formatGoDuration(soakMs);
  const { firstSeenAt, now } = evidence;
  if (soakMs === 0) {
    return {
      gate: 'soak',
      state: 'passed',
      summary: 'soak 0s',
      evidence: { soak },
    };
  }
  if (!firstSeenAt) {
    return {
      gate: 'soak',
      state: 'waiting',
      summary: 'soak: first-seen time unknown',
      evidence: { soak },
    };
  }
  const ends = new Date(firstSeenAt.getTime() + soakMs);
  const facts = {
    soak,
    firstSeenAt: firstSeenAt.toISOString(),
    endsAt: ends.toISOString(),
  };
  const left = ends.getTime() - now.getTime();
  if (left <= 0) {
    return {
      gate: 'soak',
      state: 'passed',
      summary: `soaked ${humanDuration(
        now.getTime() - firstSeenAt.getTime(),
        'down',
      )} (soak ${soak})`,
      evidence: facts,
    };
  }
  return {
    gate: 'soak',
    state: 'waiting',
    summary: `soak ${humanDuration(left, 'up')} left`,
    evidence: facts,
    eta: ends.toISOString(),
  };
}

function windowGate(
  window: NonNullable<GateConfig['window']>,
  cron: CronSchedule,
  now: Date,
): PromotionGateResult {
  const { timeZone } = window;
  const facts = {
    cron: window.cron,
    timeZone,
    duration: formatGoDuration(window.durationMs),
  };
  const at = windowAt(cron, window.durationMs, now);
  if (at.open) {
    return {
      gate: 'window',
      state: 'passed',
      summary: `window open until ${formatWindowTime(
        at.closes!,
        now,
        timeZone,
      )} (${timeZone})`,
      evidence: {
        ...facts,
        openedAt: at.opened!.toISOString(),
        closesAt: at.closes!.toISOString(),
      },
    };
  }
  return {
    gate: 'window',
    state: 'waiting',
    summary: `window opens ${formatWindowTime(
      at.next,
      now,
      timeZone,
    )} (${timeZone})`,
    evidence: { ...facts, opensAt: at.next.toISOString() },
    eta: at.next.toISOString(),
  };
}

function upstreamGate(
  after: NonNullable<GateConfig['after']>,
  evidence: GateEvidence,
): PromotionGateResult {
  const { upstream, toTag, now } = evidence;
  const who = after.target
    ? `${after.entityRef} (${after.target})`
    : after.entityRef;
  const facts: Record<string, unknown> = {
    entityRef: after.entityRef,
    ...(after.target !== undefined ? { target: after.target } : {}),
    soak: formatGoDuration(after.soakMs),
  };
  if (!upstream) {
    return {
      gate: 'upstream',
      state: 'waiting',
      summary: `waiting for ${who} to run ${toTag}`,
      evidence: facts,
    };
  }
  Object.assign(facts, {
    targetId: upstream.targetId,
    appliedAt: upstream.appliedAt.toISOString(),
    ready: upstream.ready,
    ...(upstream.readyMessage !== undefined
      ? { readyMessage: upstream.readyMessage }
      : {}),
  });
  if (!upstream.ready) {
    return {
      gate: 'upstream',
      state: 'waiting',
      summary: `${who} runs ${toTag} but is not Ready${
        upstream.readyMessage ? `: ${upstream.readyMessage}` : ''
      }`,
      evidence: facts,
    };
  }
  const ran = now.getTime() - upstream.appliedAt.getTime();
  if (ran < after.soakMs) {
    const ends = new Date(upstream.appliedAt.getTime() + after.soakMs);
    return {
      gate: 'upstream',
      state: 'waiting',
      summary: `upstream soak ${humanDuration(after.soakMs - ran, 'up')} left`,
      evidence: { ...facts, soakEndsAt: ends.toISOString() },
      eta: ends.toISOString(),
    };
  }
  return {
    gate: 'upstream',
    state: 'passed',
    summary: `${who} has run ${toTag} for ${humanDuration(ran, 'down')}`,
    evidence: facts,
  };
}

function errorGate(
  gate: PromotionGateName,
  message: string,
  annotation: string,
): PromotionGateResult {
  return { gate, state: 'error', summary: message, evidence: { annotation } };
}

/**
 * Evaluates the gates of one promotion: one result per configured gate and one `error` result
 * per problem, in the order pin, approval, soak, window, upstream. A problem is shown under
 * the gate of its annotation (see `problemGate`). Fails closed: any problem means not passed.
 *
 * `eta` is when every gate will have passed by itself: unknown when a waiting gate needs a
 * person or an event (approval, upstream run, first-seen time) or a gate is in error. It is
 * the latest eta of the waiting gates, moved on to the next window opening when the window
 * would be shut by then.
 * @internal
 */
export function evaluateGates(
  config: GateConfig,
  problems: GateConfigProblem[],
  evidence: GateEvidence,
): { gates: PromotionGateResult[]; passed: boolean; eta?: string } {
  const { now } = evidence;
  const gates: PromotionGateResult[] = [];
  if (evidence.pin) gates.push(pinGate(evidence.pin, now));
  if (config.approvals !== undefined) {
    gates.push(approvalGate(config.approvals, evidence));
  }
  if (config.soakMs !== undefined)
    gates.push(soakGate(config.soakMs, evidence));
  let cron: CronSchedule | undefined;
  if (config.window) {
    try {
      cron = parseCronSchedule(config.window.cron, config.window.timeZone);
      gates.push(windowGate(config.window, cron, now));
    } catch (error) {
      // A config not read by readGateConfig may still hold a bad spec or zone.
      gates.push(
        errorGate(
          'window',
          `${PROMOTION_ANNOTATIONS.window}: ${(error as Error).message}`,
          PROMOTION_ANNOTATIONS.window,
        ),
      );
    }
  }
  if (config.after) gates.push(upstreamGate(config.after, evidence));
  for (const problem of problems) {
    gates.push(errorGate(problemGate(problem), problem.message, problem.field));
  }
  gates.sort((a, b) => GATE_ORDER.indexOf(a.gate) - GATE_ORDER.indexOf(b.gate));

  const passed = gates.every(g => g.state === 'passed');
  if (passed) return { gates, passed };
  if (gates.some(g => g.state === 'error')) return { gates, passed };
  const waiting = gates.filter(g => g.state === 'waiting');
  if (waiting.some(g => !g.eta)) return { gates, passed };

  const others = waiting.filter(g => g.gate !== 'window');
  if (others.length === 0) return { gates, passed, eta: waiting[0].eta };
  const latest = new Date(Math.max(...others.map(g => Date.parse(g.eta!))));
  if (!cron || !config.window)
    return { gates, passed, eta: latest.toISOString() };
  const then = windowAt(cron, config.window.durationMs, latest);
  return {
    gates,
    passed,
    eta: (then.open ? latest : then.next).toISOString(),
  };
}
