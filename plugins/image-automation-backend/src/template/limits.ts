/**
 * Resource limits for template execution (issue #13: templates come from untrusted
 * manifests). Go's `text/template` and sprig have none; here a template runs synchronously on
 * the backend's event loop, so every execution is bounded in
 * - the length of any list a function builds (`until`, `untilStep`, `seq`, and any function's
 *   list result),
 * - the length of any string a function builds (`repeat`, `indent`, printf padding, …),
 * - the total output, and
 * - wall time (a deadline checked as the executor walks nodes and range iterations).
 * A limit hit fails the execution with a `TemplateExecError` naming the limit.
 */

import { GoFuncError } from './funcTypes';

/** Bounds on one template execution. @internal */
export interface TemplateLimits {
  /** Most elements in a list a function returns. */
  maxListLength: number;
  /** Most characters (UTF-16 units) in a string a function returns. */
  maxStringLength: number;
  /** Most characters of output. */
  maxOutputLength: number;
  /** Wall-time budget in milliseconds. */
  timeoutMs: number;
}

/** The defaults: far above what a ResourceSet or commit message needs. @internal */
export const DEFAULT_TEMPLATE_LIMITS: TemplateLimits = Object.freeze({
  maxListLength: 10_000,
  maxStringLength: 1 << 20,
  maxOutputLength: 4 << 20,
  timeoutMs: 2_000,
});

let active: TemplateLimits = DEFAULT_TEMPLATE_LIMITS;

/** Runs `f` with `limits` in force for the functions it calls (executions are synchronous). @internal */
export function withTemplateLimits<T>(limits: TemplateLimits, f: () => T): T {
  const saved = active;
  active = limits;
  try {
    return f();
  } finally {
    active = saved;
  }
}

/** The limits in force. @internal */
export function activeTemplateLimits(): TemplateLimits {
  return active;
}

/** Throws before a function builds a list of `n` elements when that is over the limit. @internal */
export function checkListLength(n: number | bigint, what: string): void {
  if (Number(n) > active.maxListLength) {
    throw new GoFuncError(
      `${what} would make a list of ${n} elements; the template limit is ${active.maxListLength}`,
    );
  }
}

/** Throws before a function builds a string of `n` characters when that is over the limit. @internal */
export function checkStringLength(n: number | bigint, what: string): void {
  if (Number(n) > active.maxStringLength) {
    throw new GoFuncError(
      `${what} would make a string of ${n} characters; the template limit is ${active.maxStringLength}`,
    );
  }
}
