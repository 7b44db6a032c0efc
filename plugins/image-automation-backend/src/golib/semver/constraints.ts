/**
 * Version constraints with the grammar and semantics of Masterminds/semver v3.5
 * (`NewConstraint` / `Constraints.Check`), which Flux uses for `spec.policy.semver.range` and
 * ResourceSetInputProvider `spec.filter.semver`.
 */

import { goQuote } from '../strconv';
import { utf8Length } from '../strings';
import {
  compareSemVersions,
  comparePrerelease,
  parseSemVersion,
  SemVersion,
} from './version';

/** Go RE2's `\s` is ASCII whitespace without `\v`; JavaScript's `\s` is wider. */
const WS = '[\\t\\n\\f\\r ]';
// Go writes the class as [0-9|x|X|\*], so `|` is (accidentally) a valid segment character.
const CV =
  '(v?([0-9|xX*]+)(\\.[0-9|xX*]+)?(\\.[0-9|xX*]+)?' +
  '(-([0-9A-Za-z-]+(\\.[0-9A-Za-z-]+)*))?' +
  '(\\+([0-9A-Za-z-]+(\\.[0-9A-Za-z-]+)*))?)';
const CV_PLAIN = CV.slice(1, -1).replace(/\((?!\?)/g, '(?:');
// The alternation order matters: leftmost-first matching, exactly as Go tries it.
const OPS = '(=||!=|>|<|>=|=>|<=|=<|~|~>|\\^)';
const OPS_PLAIN = '(?:=||!=|>|<|>=|=>|<=|=<|~|~>|\\^)';

// ^\s*(op)\s*(cv)\s*$ — groups: 1 op, 2 cv, 3 major, 4 .minor, 5 .patch, 6 -pre
const CONSTRAINT = new RegExp(`^${WS}*${OPS}${WS}*${CV}${WS}*$`);
const CONSTRAINT_RANGE = new RegExp(
  `${WS}*(${CV_PLAIN})${WS}+-${WS}+(${CV_PLAIN})${WS}*`,
  'g',
);
const FIND_CONSTRAINT = new RegExp(`${OPS_PLAIN}${WS}*${CV_PLAIN}`, 'g');
const VALID_CONSTRAINT = new RegExp(
  `^(?:${WS}*${OPS_PLAIN}${WS}*${CV_PLAIN}${WS}*)(?:(?:${WS}+|,${WS}*)${OPS_PLAIN}${WS}*${CV_PLAIN}${WS}*)*$`,
);

const MAX_CONSTRAINT_LENGTH = 512;
const MAX_CONSTRAINT_GROUPS = 32;

type Operator =
  | ''
  | '='
  | '!='
  | '>'
  | '<'
  | '>='
  | '=>'
  | '<='
  | '=<'
  | '~'
  | '~>'
  | '^';

interface Constraint {
  op: Operator;
  con: SemVersion;
  dirty: boolean;
  minorDirty: boolean;
  patchDirty: boolean;
}

/**
 * A parsed range: OR groups of AND-ed constraints. A group admits prereleases only when one
 * of its own constraints names a prerelease.
 * @internal
 */
export interface SemVerConstraints {
  groups: Array<{ constraints: Constraint[]; includePrerelease: boolean }>;
}

/** The result of parsing a range: the constraints or Masterminds' error text. @internal */
export type ConstraintParse =
  | { ok: true; constraints: SemVerConstraints }
  | { ok: false; message: string };

const isX = (s: string) => s === 'x' || s === '*' || s === 'X';

function rewriteRange(input: string): string {
  let out = input;
  for (const m of input.matchAll(CONSTRAINT_RANGE)) {
    const replacement = `>= ${m[1]}, <= ${m[2]} `;
    out = out.replace(m[0], () => replacement);
  }
  return out;
}

function parseConstraint(text: string): Constraint | string {
  const m = CONSTRAINT.exec(text);
  if (!m) return `improper constraint: ${goQuote(text)}`;
  const [, op, cv, major, minor = '', patch = '', pre = ''] = m;
  let ver = cv;
  let dirty = false;
  let minorDirty = false;
  let patchDirty = false;
  if (isX(major)) {
    ver = `0.0.0${pre}`;
    dirty = true;
  } else if (minor === '' || isX(minor.slice(1))) {
    ver = `${major}.0.0${pre}`;
    dirty = minorDirty = true;
  } else if (patch === '' || isX(patch.slice(1))) {
    ver = `${major}${minor}.0${pre}`;
    dirty = patchDirty = true;
  }
  const con = parseSemVersion(ver);
  if (!con) return 'constraint parser error';
  return { op: op as Operator, con, dirty, minorDirty, patchDirty };
}

/**
 * Masterminds `NewConstraint`: `||` OR groups, AND by whitespace or commas, hyphen ranges,
 * wildcards and partial versions; errors carry Masterminds' exact text.
 * @internal
 */
export function parseConstraints(range: string): ConstraintParse {
  if (
    range.length > MAX_CONSTRAINT_LENGTH &&
    utf8Length(range) > MAX_CONSTRAINT_LENGTH
  ) {
    return {
      ok: false,
      message: `constraint string is too long (max ${MAX_CONSTRAINT_LENGTH} bytes)`,
    };
  }
  const ors = rewriteRange(range).split('||');
  if (ors.length > MAX_CONSTRAINT_GROUPS) {
    return {
      ok: false,
      message: `too many constraint groups (max ${MAX_CONSTRAINT_GROUPS})`,
    };
  }
  const groups: SemVerConstraints['groups'] = [];
  for (const group of ors) {
    if (!VALID_CONSTRAINT.test(group)) {
      return { ok: false, message: `improper constraint: ${goQuote(group)}` };
    }
    const texts = group.match(FIND_CONSTRAINT) ?? [group];
    const constraints: Constraint[] = [];
    let includePrerelease = false;
    for (const text of texts) {
      const c = parseConstraint(text);
      if (typeof c === 'string') return { ok: false, message: c };
      if (c.con.prerelease !== '') includePrerelease = true;
      constraints.push(c);
    }
    groups.push({ constraints, includePrerelease });
  }
  return { ok: true, constraints: { groups } };
}

function tilde(v: SemVersion, c: Constraint): boolean {
  if (compareSemVersions(v, c.con) < 0) return false;
  const con = c.con;
  if (
    con.major === 0 &&
    con.minor === 0 &&
    con.patch === 0 &&
    !c.minorDirty &&
    !c.patchDirty
  ) {
    return true;
  }
  if (v.major !== con.major) return false;
  return !(v.minor !== con.minor && !c.minorDirty);
}

function caret(v: SemVersion, c: Constraint): boolean {
  const con = c.con;
  if (compareSemVersions(v, con) < 0) return false;
  if (con.major > 0 || c.minorDirty) return v.major === con.major;
  if (con.major === 0 && v.major > 0) return false;
  if (con.minor > 0 || c.patchDirty) return v.minor === con.minor;
  if (con.minor === 0 && v.minor > 0) return false;
  return con.patch === v.patch;
}

function notEqual(v: SemVersion, c: Constraint): boolean {
  const con = c.con;
  if (c.dirty) {
    if (con.major !== v.major) return true;
    if (con.minor !== v.minor && !c.minorDirty) return true;
    if (c.minorDirty) return false;
    if (con.patch !== v.patch && !c.patchDirty) return true;
    if (c.patchDirty) {
      if (v.prerelease !== '' || con.prerelease !== '') {
        return comparePrerelease(v.prerelease, con.prerelease) !== 0;
      }
      return false;
    }
  }
  return compareSemVersions(v, con) !== 0;
}

function greaterThan(v: SemVersion, c: Constraint): boolean {
  const con = c.con;
  if (!c.dirty) return compareSemVersions(v, con) === 1;
  if (v.major > con.major) return true;
  if (v.major < con.major) return false;
  if (c.minorDirty) return false;
  if (c.patchDirty) return v.minor > con.minor;
  return compareSemVersions(v, con) === 1;
}

function lessThanEqual(v: SemVersion, c: Constraint): boolean {
  const con = c.con;
  if (!c.dirty) return compareSemVersions(v, con) <= 0;
  if (v.major > con.major) return false;
  return !(v.major === con.major && v.minor > con.minor && !c.minorDirty);
}

function check(
  v: SemVersion,
  c: Constraint,
  includePrerelease: boolean,
): boolean {
  if (v.prerelease !== '' && !includePrerelease) return false;
  switch (c.op) {
    case '':
    case '=':
      return c.dirty ? tilde(v, c) : compareSemVersions(v, c.con) === 0;
    case '!=':
      return notEqual(v, c);
    case '>':
      return greaterThan(v, c);
    case '<':
      return compareSemVersions(v, c.con) < 0;
    case '>=':
    case '=>':
      return compareSemVersions(v, c.con) >= 0;
    case '<=':
    case '=<':
      return lessThanEqual(v, c);
    case '~':
    case '~>':
      return tilde(v, c);
    case '^':
      return caret(v, c);
    default:
      return false;
  }
}

/**
 * Masterminds `Constraints.Check`: some OR group whose every constraint admits `v`.
 * @internal
 */
export function satisfiesConstraints(
  v: SemVersion,
  cs: SemVerConstraints,
): boolean {
  for (const group of cs.groups) {
    if (group.constraints.every(c => check(v, c, group.includePrerelease)))
      return true;
  }
  return false;
}
