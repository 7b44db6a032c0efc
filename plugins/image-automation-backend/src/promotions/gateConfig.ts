/**
 * The promotion gates of a target, read from the `promotion.image-automation.io/*` annotations
 * of its object (ImageUpdateAutomation or ResourceSet) and of its catalog entity.
 */

import { parseEntityRef } from '@backstage/catalog-model';
import {
  PROMOTION_ANNOTATION_PREFIX,
  PROMOTION_ANNOTATIONS,
  PromotionGateName,
} from '@imageops/backstage-plugin-image-automation-common';
import { parseCronSchedule } from '../inputs/cronSchedule';
import { parseGoDuration } from '../golib/time';

/** The gates a promotion waits for; an absent field is no gate. @internal */
export interface GateConfig {
  /** How many distinct owners must approve the digest. */
  approvals?: number;
  /** Minimum age since the tag was first seen. */
  soakMs?: number;
  /** Promotions are carried out only while a window, opened by `cron` in `timeZone`, is open. */
  window?: { cron: string; durationMs: number; timeZone: string };
  /** An upstream entity (lower-case `kind:namespace/name`) must have run the digest first. */
  after?: { entityRef: string; target?: string; soakMs: number };
}

/**
 * A malformed gate annotation. `field` is the annotation's name; `message` names the
 * annotation, its value and what is wrong with it.
 * @internal
 */
export interface GateConfigProblem {
  field: string;
  message: string;
}

const A = PROMOTION_ANNOTATIONS;

/** The gate each annotation configures, in the order annotations are checked. */
const ANNOTATION_GATES: ReadonlyArray<[string, PromotionGateName]> = [
  [A.approvals, 'approval'],
  [A.soak, 'soak'],
  [A.window, 'window'],
  [A.windowDuration, 'window'],
  [A.windowTimeZone, 'window'],
  [A.after, 'upstream'],
  [A.afterTarget, 'upstream'],
  [A.afterSoak, 'upstream'],
];

const KNOWN = new Map(ANNOTATION_GATES);
const shortName = (annotation: string) =>
  annotation.slice(PROMOTION_ANNOTATION_PREFIX.length);

const MAX_APPROVALS = 100;

function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min(
        row[j] + 1,
        next[j - 1] + 1,
        row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    row = next;
  }
  return row[b.length];
}

/** The known annotation an unknown one was most likely meant to be (a typo of at most 2). */
function didYouMean(annotation: string): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const [known] of ANNOTATION_GATES) {
    const distance = editDistance(shortName(annotation), shortName(known));
    if (distance <= 2 && (!best || distance < best.distance)) {
      best = { name: known, distance };
    }
  }
  return best?.name;
}

/**
 * The gate a problem belongs to: the gate of its annotation. An unknown annotation goes to the
 * gate of the annotation it most likely misspells (`aprovals` → approval, `window-tz` → window);
 * failing that to `approval`, the gate that already asks a person to act. Either way the
 * promotion fails closed, so this only decides where the error is shown.
 * @internal
 */
export function problemGate(problem: GateConfigProblem): PromotionGateName {
  const known = KNOWN.get(problem.field);
  if (known) return known;
  if (!problem.field.startsWith(PROMOTION_ANNOTATION_PREFIX)) return 'approval';
  const suggestion = didYouMean(problem.field);
  if (suggestion) return KNOWN.get(suggestion)!;
  const firstWord = shortName(problem.field).split('-')[0];
  const sameWord = ANNOTATION_GATES.find(
    ([annotation]) => shortName(annotation).split('-')[0] === firstWord,
  );
  return sameWord?.[1] ?? 'approval';
}

function isTimeZone(timeZone: string): boolean {
  try {
    // The constructor throws a RangeError for a time zone it does not know.
    new Intl.DateTimeFormat('en-US', { timeZone }).resolvedOptions();
    return timeZone !== '';
  } catch {
    return false;
  }
}

const FULL_ENTITY_REF = /^[^:/\s]+:[^:/\s]+\/[^:/\s]+$/;

/**
 * Reads the gate annotations. Object annotations win over entity annotations, key by key. A
 * gate with any malformed annotation is left out of `config` and reported in `problems`, as is
 * every annotation with the prefix that is not a known gate annotation, so a typo never
 * silently removes a gate. Values are trimmed.
 * @internal
 */
export function readGateConfig(
  objectAnnotations: Record<string, string> | undefined,
  entityAnnotations: Record<string, string> | undefined,
): { config: GateConfig; problems: GateConfigProblem[] } {
  const values = new Map<string, string>();
  for (const annotations of [entityAnnotations, objectAnnotations]) {
    for (const [key, value] of Object.entries(annotations ?? {})) {
      if (key.startsWith(PROMOTION_ANNOTATION_PREFIX)) {
        values.set(key, String(value).trim());
      }
    }
  }
  const config: GateConfig = {};
  const problems: GateConfigProblem[] = [];
  const problem = (field: string, why: string) =>
    problems.push({
      field,
      message: `${field}: '${values.get(field)}' ${why}`,
    });

  /** A non-negative Go duration, or undefined after reporting a problem. */
  const duration = (field: string): number | undefined => {
    const text = values.get(field)!;
    let ms: number;
    try {
      ms = parseGoDuration(text);
    } catch (error) {
      problem(
        field,
        `is not a Go duration such as 72h or 30m (${(error as Error).message})`,
      );
      return undefined;
    }
    if (ms < 0) {
      problem(field, 'is negative');
      return undefined;
    }
    return ms;
  };

  const approvals = values.get(A.approvals);
  if (approvals !== undefined) {
    if (!/^[0-9]+$/.test(approvals) || Number(approvals) === 0) {
      problem(A.approvals, 'is not a positive integer');
    } else if (Number(approvals) > MAX_APPROVALS) {
      problem(A.approvals, `is more than ${MAX_APPROVALS} approvals`);
    } else {
      config.approvals = Number(approvals);
    }
  }

  if (values.has(A.soak)) {
    const soakMs = duration(A.soak);
    if (soakMs !== undefined) config.soakMs = soakMs;
  }

  const before = problems.length;
  const cron = values.get(A.window);
  let timeZone = values.get(A.windowTimeZone) ?? 'UTC';
  if (values.has(A.windowTimeZone)) {
    if (!isTimeZone(timeZone)) {
      problem(
        A.windowTimeZone,
        'is not an IANA time zone such as Europe/Berlin',
      );
      // The cron spec is still checked, on its own.
      timeZone = 'UTC';
    } else if (cron === undefined && !values.has(A.windowDuration)) {
      problem(A.windowTimeZone, `has no effect without ${A.window}`);
    }
  }
  let durationMs: number | undefined;
  if (values.has(A.windowDuration)) {
    durationMs = duration(A.windowDuration);
    if (durationMs === 0) problem(A.windowDuration, 'must be longer than 0s');
    if (cron === undefined) problem(A.windowDuration, `needs ${A.window}`);
  }
  if (cron !== undefined) {
    try {
      parseCronSchedule(cron, timeZone);
    } catch (error) {
      problem(A.window, `is not a cron spec: ${(error as Error).message}`);
    }
    if (!values.has(A.windowDuration)) {
      problem(
        A.window,
        `needs ${A.windowDuration} (how long each window stays open)`,
      );
    }
  }
  if (cron !== undefined && durationMs && problems.length === before) {
    config.window = { cron, durationMs, timeZone };
  }

  const upstreamBefore = problems.length;
  const after = values.get(A.after);
  let entityRef: string | undefined;
  if (after !== undefined) {
    try {
      const ref = parseEntityRef(after);
      // parseEntityRef fills in the `default` namespace; the annotation must name it.
      if (!FULL_ENTITY_REF.test(after)) {
        throw new Error(
          'kind, namespace and name are all required, without further : or /',
        );
      }
      entityRef = `${ref.kind}:${ref.namespace}/${ref.name}`.toLocaleLowerCase(
        'en-US',
      );
    } catch (error) {
      problem(
        A.after,
        `is not an entity ref of the form kind:namespace/name (${
          (error as Error).message
        })`,
      );
    }
  }
  const target = values.get(A.afterTarget);
  if (target !== undefined) {
    if (after === undefined) problem(A.afterTarget, `needs ${A.after}`);
    else if (target === '') problem(A.afterTarget, 'is empty');
  }
  let afterSoakMs: number | undefined = 0;
  if (values.has(A.afterSoak)) {
    if (after === undefined) problem(A.afterSoak, `needs ${A.after}`);
    afterSoakMs = duration(A.afterSoak);
  }
  if (
    entityRef !== undefined &&
    afterSoakMs !== undefined &&
    problems.length === upstreamBefore
  ) {
    config.after = {
      entityRef,
      ...(target !== undefined ? { target } : {}),
      soakMs: afterSoakMs,
    };
  }

  const known = ANNOTATION_GATES.map(([name]) => shortName(name)).join(', ');
  for (const name of [...values.keys()].sort()) {
    if (KNOWN.has(name)) continue;
    const suggestion = didYouMean(name);
    problems.push({
      field: name,
      message: `unknown promotion gate annotation '${name}'; known: ${known}${
        suggestion ? `; did you mean '${shortName(suggestion)}'?` : ''
      }`,
    });
  }

  return { config, problems };
}

/**
 * True when the config has any gate. A config read with problems must still go through
 * `evaluateGates`, which fails closed on them, even when this is false.
 * @internal
 */
export function hasGates(config: GateConfig): boolean {
  return (
    config.approvals !== undefined ||
    config.soakMs !== undefined ||
    config.window !== undefined ||
    config.after !== undefined
  );
}
