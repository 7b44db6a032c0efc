/**
 * Semantic versions with the semantics of Masterminds/semver v3.5 in its default "coerce"
 * mode, as used by Flux, plus Flux's own pre-check (`fluxcd/pkg/version.ParseVersion`).
 */

import { utf8Length } from '../strings';

/** A version segment: a plain number while exact, a bigint above 2^53 (Go uses uint64). */
export type Segment = number | bigint;

/**
 * A parsed version. Build metadata is kept but never compared.
 * @internal
 */
export interface SemVersion {
  major: Segment;
  minor: Segment;
  patch: Segment;
  prerelease: string;
  metadata: string;
  /** The string as it was parsed (Masterminds `Original()`), e.g. with its `v`. */
  original: string;
}

const MAX_VERSION_LENGTH = 256;
const MAX_UINT64 = 18446744073709551615n;

// The loose Masterminds regular expression; JavaScript picks the same sub-matches as Go for it
// because it has no ambiguous alternation.
const LOOSE_VERSION =
  /^v?([0-9]+)(\.[0-9]+)?(\.[0-9]+)?(-([0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*))?(\+([0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*))?$/;

/** Go `strconv.ParseUint(s, 10, 64)` on a string of ASCII digits; undefined on overflow. */
export function parseUint64(digits: string): Segment | undefined {
  if (digits.length < 16) return Number(digits);
  const big = BigInt(digits);
  if (big > MAX_UINT64) return undefined;
  return big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
}

const DIGITS = /^[0-9]+$/;
const ALLOWED = /^[0-9A-Za-z-]+$/;

function validPrerelease(pre: string): boolean {
  for (const part of pre.split('.')) {
    if (part === '') return false;
    if (DIGITS.test(part)) {
      if (part.length > 1 && part[0] === '0') return false;
    } else if (!ALLOWED.test(part)) {
      return false;
    }
  }
  return true;
}

function validMetadata(meta: string): boolean {
  return meta.split('.').every(part => part !== '' && ALLOWED.test(part));
}

/**
 * Masterminds `NewVersion` (coerce mode): `v` prefix, partial versions (`1`, `1.2`) and
 * leading zeros in the numeric segments are accepted; prerelease numbers with leading zeros
 * and empty identifiers are not.
 * @internal
 */
export function parseSemVersion(v: string): SemVersion | undefined {
  if (v.length > MAX_VERSION_LENGTH && utf8Length(v) > MAX_VERSION_LENGTH) {
    return undefined;
  }
  const m = LOOSE_VERSION.exec(v);
  if (!m) return undefined;
  const major = parseUint64(m[1]);
  const minor = m[2] ? parseUint64(m[2].slice(1)) : 0;
  const patch = m[3] ? parseUint64(m[3].slice(1)) : 0;
  if (major === undefined || minor === undefined || patch === undefined) {
    return undefined;
  }
  const prerelease = m[5] ?? '';
  const metadata = m[8] ?? '';
  if (prerelease !== '' && !validPrerelease(prerelease)) return undefined;
  if (metadata !== '' && !validMetadata(metadata)) return undefined;
  return { major, minor, patch, prerelease, metadata, original: v };
}

/**
 * Flux's `version.ParseVersion`: the tag must contain at least two dots (so `1.2` and `v1`
 * are not versions, while `1.0-rc.1` is), then Masterminds coerce parsing.
 * @internal
 */
export function parseFluxVersion(tag: string): SemVersion | undefined {
  const first = tag.indexOf('.');
  if (first < 0 || tag.indexOf('.', first + 1) < 0) return undefined;
  return parseSemVersion(tag);
}

function compareSegment(a: Segment, b: Segment): number {
  // number/bigint comparisons are exact in JavaScript, even mixed.
  if (a < b) return -1;
  if (a > b) return 1;
  return 0;
}

/** Masterminds `comparePrePart`: numeric < alphanumeric, missing part < any part. */
function comparePrereleasePart(s: string, o: string): number {
  if (s === o) return 0;
  if (s === '') return -1;
  if (o === '') return 1;
  const sn = DIGITS.test(s) ? parseUint64(s) : undefined;
  const on = DIGITS.test(o) ? parseUint64(o) : undefined;
  if (sn === undefined && on === undefined) return s > o ? 1 : -1;
  if (on === undefined) return -1;
  if (sn === undefined) return 1;
  return sn > on ? 1 : -1;
}

/** Masterminds `comparePrerelease`, dot-separated part by part. @internal */
export function comparePrerelease(a: string, b: string): number {
  const ap = a.split('.');
  const bp = b.split('.');
  const n = Math.max(ap.length, bp.length);
  for (let i = 0; i < n; i++) {
    const d = comparePrereleasePart(ap[i] ?? '', bp[i] ?? '');
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * Masterminds `Compare`: major, minor, patch numerically; a release is greater than its
 * prereleases; build metadata is ignored.
 * @internal
 */
export function compareSemVersions(a: SemVersion, b: SemVersion): number {
  const d =
    compareSegment(a.major, b.major) ||
    compareSegment(a.minor, b.minor) ||
    compareSegment(a.patch, b.patch);
  if (d !== 0) return d;
  if (a.prerelease === b.prerelease) return 0;
  if (a.prerelease === '') return 1;
  if (b.prerelease === '') return -1;
  return comparePrerelease(a.prerelease, b.prerelease);
}
