/**
 * A linear-time matcher for translated Go regular expressions (a Pike VM, as Go's own
 * `regexp` uses): no catastrophic backtracking whatever the pattern, and Go's sub-match
 * semantics, including captures inside repetitions keeping the last iteration that set them.
 * Patterns come from catalog authors and tags from registries, so a backtracking engine
 * would let either stall the backend with something like `(a+)+$`.
 */

import type { AssertKind, Node, Ranges } from './goRegexpSyntax';

type Inst =
  | { op: 'class'; ranges: Ranges; ascii: Uint8Array; next: number }
  | { op: 'split'; x: number; y: number }
  | { op: 'save'; slot: number; next: number }
  | { op: 'assert'; kind: AssertKind; next: number }
  | { op: 'match' };

/** A compiled program. @internal */
export interface Program {
  insts: Inst[];
  start: number;
  slots: number;
  anchoredStart: boolean;
}

function nullable(node: Node): boolean {
  switch (node.t) {
    case 'class':
      return false;
    case 'assert':
      return true;
    case 'cap':
    case 'group':
      return nullable(node.sub);
    case 'concat':
      return node.subs.every(nullable);
    case 'alt':
      return node.subs.some(nullable);
    default:
      return node.min === 0 || nullable(node.sub);
  }
}

/**
 * Compiles in continuation-passing style: each node is compiled knowing where to go next,
 * and returns its entry. Repetitions are expanded as Go's simplifier does
 * (`x{2,4}` → `xx(x(x)?)?`), and a star over something that can match empty is compiled as
 * `(x+)?`, as Go does, so empty iterations behave the same.
 */
export function compileProgram(root: Node, captureCount: number): Program {
  const insts: Inst[] = [];
  const push = (inst: Inst) => insts.push(inst) - 1;
  const placeholder = () => push({ op: 'match' });

  const split = (preferred: number, other: number, greedy: boolean) =>
    push(
      greedy
        ? { op: 'split', x: preferred, y: other }
        : { op: 'split', x: other, y: preferred },
    );

  const plus = (sub: Node, next: number, greedy: boolean): number => {
    const loop = placeholder();
    const body = compile(sub, loop);
    insts[loop] = greedy
      ? { op: 'split', x: body, y: next }
      : { op: 'split', x: next, y: body };
    return body;
  };

  const star = (sub: Node, next: number, greedy: boolean): number => {
    if (nullable(sub)) return split(plus(sub, next, greedy), next, greedy);
    const loop = placeholder();
    const body = compile(sub, loop);
    insts[loop] = greedy
      ? { op: 'split', x: body, y: next }
      : { op: 'split', x: next, y: body };
    return loop;
  };

  function compile(node: Node, next: number): number {
    switch (node.t) {
      case 'class': {
        const ascii = new Uint8Array(128);
        for (const [lo, hi] of node.ranges) {
          for (let c = lo; c <= Math.min(hi, 127); c++) ascii[c] = 1;
        }
        return push({ op: 'class', ranges: node.ranges, ascii, next });
      }
      case 'assert':
        return push({ op: 'assert', kind: node.kind, next });
      case 'cap': {
        const index = node.index;
        const close = push({ op: 'save', slot: 2 * index + 1, next });
        return push({
          op: 'save',
          slot: 2 * index,
          next: compile(node.sub, close),
        });
      }
      case 'group':
        return compile(node.sub, next);
      case 'concat': {
        let entry = next;
        for (let i = node.subs.length - 1; i >= 0; i--)
          entry = compile(node.subs[i], entry);
        return entry;
      }
      case 'alt': {
        const entries = node.subs.map(sub => compile(sub, next));
        let entry = entries[entries.length - 1];
        for (let i = entries.length - 2; i >= 0; i--) {
          entry = push({ op: 'split', x: entries[i], y: entry });
        }
        return entry;
      }
      default: {
        const { min, max, greedy, sub } = node;
        if (max === -1) {
          if (min === 0) return star(sub, next, greedy);
          let entry = plus(sub, next, greedy);
          for (let i = 1; i < min; i++) entry = compile(sub, entry);
          return entry;
        }
        let entry = next;
        for (let i = 0; i < max - min; i++) {
          entry = split(compile(sub, entry), next, greedy);
        }
        for (let i = 0; i < min; i++) entry = compile(sub, entry);
        return entry;
      }
    }
  }

  const matchPc = push({ op: 'match' });
  const end = push({ op: 'save', slot: 1, next: matchPc });
  const body = compile(root, end);
  const start = push({ op: 'save', slot: 0, next: body });
  return {
    insts,
    start,
    slots: 2 * (captureCount + 1),
    anchoredStart: startsAnchored(root),
  };
}

function startsAnchored(node: Node): boolean {
  switch (node.t) {
    case 'assert':
      return node.kind === 'bot';
    case 'cap':
    case 'group':
      return startsAnchored(node.sub);
    case 'concat':
      return node.subs.length > 0 && startsAnchored(node.subs[0]);
    default:
      return false;
  }
}

const isWordUnit = (u: number) =>
  (u >= 0x30 && u <= 0x39) ||
  (u >= 0x41 && u <= 0x5a) ||
  u === 0x5f ||
  (u >= 0x61 && u <= 0x7a);

function inRanges(ranges: Ranges, c: number): boolean {
  let lo = 0;
  let hi = ranges.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (c < ranges[mid][0]) hi = mid - 1;
    else if (c > ranges[mid][1]) lo = mid + 1;
    else return true;
  }
  return false;
}

interface Thread {
  pc: number;
  caps: Int32Array;
}

/** Whether a zero-width assertion holds at `pos` of `input` (shared by both matchers). */
function assertionHoldsAt(
  input: string,
  kind: AssertKind,
  pos: number,
): boolean {
  const before = pos > 0 ? input.charCodeAt(pos - 1) : -1;
  const after = pos < input.length ? input.charCodeAt(pos) : -1;
  switch (kind) {
    case 'bot':
      return pos === 0;
    case 'eot':
      return pos === input.length;
    case 'bol':
      return pos === 0 || before === 0x0a;
    case 'eol':
      return pos === input.length || after === 0x0a;
    case 'wb':
      return isWordUnit(before) !== isWordUnit(after);
    default:
      return isWordUnit(before) === isWordUnit(after);
  }
}

/**
 * Leftmost-first search, as Go's `FindStringSubmatchIndex`: returns the capture positions
 * (UTF-16 offsets, -1 for groups that did not take part) or null.
 * @internal
 */
export function runProgram(
  program: Program,
  input: string,
  from = 0,
): Int32Array | null {
  const { insts } = program;
  const visited = new Int32Array(insts.length).fill(-1);
  let generation = 0;
  let current: Thread[] = [];
  let next: Thread[] = [];
  let matched: Int32Array | null = null;

  const assertionHolds = (kind: AssertKind, pos: number) =>
    assertionHoldsAt(input, kind, pos);

  // Follows empty transitions in priority order, adding the threads that consume input.
  const add = (list: Thread[], pc: number, pos: number, caps: Int32Array) => {
    if (visited[pc] === generation) return;
    visited[pc] = generation;
    const inst = insts[pc];
    switch (inst.op) {
      case 'split':
        add(list, inst.x, pos, caps);
        add(list, inst.y, pos, caps);
        return;
      case 'save': {
        const copy = caps.slice();
        copy[inst.slot] = pos;
        add(list, inst.next, pos, copy);
        return;
      }
      case 'assert':
        if (assertionHolds(inst.kind, pos)) add(list, inst.next, pos, caps);
        return;
      default:
        list.push({ pc, caps });
    }
  };

  const empty = new Int32Array(program.slots).fill(-1);
  if (from > 0 && program.anchoredStart) return null;
  for (let pos = from; ; ) {
    // A new search starts at every position until something matched (lowest priority).
    if (!matched && (pos === from || !program.anchoredStart)) {
      add(current, program.start, pos, empty);
    }
    if (current.length === 0 && (matched || program.anchoredStart)) break;
    const c = pos < input.length ? input.codePointAt(pos)! : -1;
    const width = c > 0xffff ? 2 : 1;
    generation++;
    for (const thread of current) {
      const inst = insts[thread.pc];
      if (inst.op === 'match') {
        matched = thread.caps;
        break; // lower-priority threads lose to this match
      }
      if (
        inst.op === 'class' &&
        c >= 0 &&
        (c < 128 ? inst.ascii[c] === 1 : inRanges(inst.ranges, c))
      ) {
        add(next, inst.next, pos + width, thread.caps);
      }
    }
    [current, next] = [next, current];
    next.length = 0;
    if (pos >= input.length) break;
    pos += width;
  }
  return matched;
}

const MAX_BACKTRACK_BITS = 1 << 22;
let visitedBuffer = new Uint32Array(1024);

/**
 * Go's bounded backtracker: a depth-first search in priority order (so the first match found
 * is the leftmost-first one) that never visits an (instruction, position) pair twice, which
 * bounds the work by program size × input length. Faster than the Pike VM on short inputs
 * such as tags; returns undefined when the bit set would be too large.
 */
function backtrack(
  program: Program,
  input: string,
  from = 0,
): Int32Array | null | undefined {
  const { insts } = program;
  const width = input.length + 1;
  const bits = insts.length * width;
  if (bits > MAX_BACKTRACK_BITS) return undefined;
  const words = (bits + 31) >>> 5;
  if (visitedBuffer.length < words) visitedBuffer = new Uint32Array(words * 2);
  const visited = visitedBuffer;
  visited.fill(0, 0, words);
  const caps = new Int32Array(program.slots).fill(-1);
  // Jobs: [pc, pos] to explore, or [-1 - slot, oldValue] to undo a save when backtracking.
  const jobs: number[] = [];

  const assertionHolds = (kind: AssertKind, pos: number) =>
    assertionHoldsAt(input, kind, pos);

  const tryAt = (start: number): boolean => {
    jobs.length = 0;
    jobs.push(program.start, start);
    while (jobs.length > 0) {
      let pos = jobs.pop()!;
      let pc = jobs.pop()!;
      if (pc < 0) {
        caps[-1 - pc] = pos;
        continue;
      }
      for (;;) {
        const bit = pc * width + pos;
        if (visited[bit >>> 5] & (1 << (bit & 31))) break;
        visited[bit >>> 5] |= 1 << (bit & 31);
        const inst = insts[pc];
        if (inst.op === 'class') {
          if (pos >= input.length) break;
          const c = input.codePointAt(pos)!;
          if (!(c < 128 ? inst.ascii[c] === 1 : inRanges(inst.ranges, c)))
            break;
          pos += c > 0xffff ? 2 : 1;
          pc = inst.next;
        } else if (inst.op === 'split') {
          jobs.push(inst.y, pos);
          pc = inst.x;
        } else if (inst.op === 'save') {
          jobs.push(-1 - inst.slot, caps[inst.slot]);
          caps[inst.slot] = pos;
          pc = inst.next;
        } else if (inst.op === 'assert') {
          if (!assertionHolds(inst.kind, pos)) break;
          pc = inst.next;
        } else {
          return true;
        }
      }
    }
    return false;
  };

  if (from > 0 && program.anchoredStart) return null;
  for (let start = from; start <= input.length; ) {
    if (tryAt(start)) return caps;
    if (program.anchoredStart) break;
    start += start < input.length && input.codePointAt(start)! > 0xffff ? 2 : 1;
  }
  return null;
}

/**
 * Go's leftmost-first search: the backtracker when its bit set is small, else the Pike VM.
 * @internal
 */
export function matchProgram(
  program: Program,
  input: string,
  from = 0,
): Int32Array | null {
  const result = backtrack(program, input, from);
  return result === undefined ? runProgram(program, input, from) : result;
}

/**
 * A `RegExp` whose matching runs the Go program: `test`, `exec` and `String#match` give Go's
 * answers in linear time. Global and sticky flags are not supported (Go has neither).
 * @internal
 */
export class GoProgramRegExp extends RegExp {
  static get [Symbol.species]() {
    return RegExp;
  }

  /** The compiled Go program (for tests and tools). */
  program?: Program;

  static create(source: string, program: Program): GoProgramRegExp {
    const re = new GoProgramRegExp(source, 'u');
    re.program = program;
    return re;
  }

  exec(input: string): RegExpExecArray | null {
    const text = String(input);
    const caps = matchProgram(this.program!, text);
    if (!caps) return null;
    const groups: Array<string | undefined> = [];
    for (let i = 0; i < caps.length; i += 2) {
      groups.push(caps[i] >= 0 ? text.slice(caps[i], caps[i + 1]) : undefined);
    }
    const result = groups as unknown as RegExpExecArray;
    result.index = caps[0];
    result.input = text;
    return result;
  }
}
