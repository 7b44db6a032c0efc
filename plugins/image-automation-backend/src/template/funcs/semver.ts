/**
 * Sprig's `semver` and `semverCompare` (Masterminds semver v3.3.0 `NewVersion`, coercing,
 * and `NewConstraint`), on the Masterminds implementation in golib/semver.
 */

import {
  compareSemVersions,
  parseConstraints,
  parseSemVersion,
  satisfiesConstraints,
  SemVerConstraints,
  SemVersion,
} from '../../golib/semver';
import { FuncMap, fn, GoFuncError } from '../funcTypes';
import { GoStruct, GoValue } from '../../golib/reflect';

const LOOSE =
  /^v?([0-9]+)(\.[0-9]+)?(\.[0-9]+)?(-([0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*))?(\+([0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*))?$/;

/** Masterminds `NewVersion`, with its error texts. */
function newVersion(v: string): SemVersion {
  const parsed = parseSemVersion(v);
  if (parsed) return parsed;
  const m = LOOSE.exec(v);
  if (!m) throw new GoFuncError('Invalid Semantic Version');
  for (const seg of [m[1], m[2]?.slice(1), m[3]?.slice(1)]) {
    if (seg !== undefined && BigInt(seg) > 18446744073709551615n)
      throw new GoFuncError(
        `Error parsing version segment: strconv.ParseUint: parsing "${seg}": value out of range`,
      );
  }
  const pre = m[5] ?? '';
  if (pre.split('.').some(p => /^0\d+$/.test(p)))
    throw new GoFuncError('Version segment starts with 0');
  // Valid for v3.3.0, which has no length limit; the policy engine's v3.5 parser stops at 256 bytes.
  const seg = (x: string | undefined) =>
    x ? BigInt(x.replace(/^\./, '')) : 0n;
  return {
    major: seg(m[1]),
    minor: seg(m[2]),
    patch: seg(m[3]),
    prerelease: pre,
    metadata: m[8] ?? '',
    original: v,
  };
}

/** A `*semver.Version` as templates see it: `%v` is the canonical string, plus its methods. */
class SemverValue extends GoStruct {
  constructor(readonly version: SemVersion) {
    super('*semver.Version', {}, {});
    const v = version;
    const other = (o: GoValue): SemVersion => {
      if (!(o instanceof SemverValue))
        throw new GoFuncError('wrong type for value; expected *semver.Version');
      return o.version;
    };
    Object.assign(this.methods, {
      String: () =>
        `${v.major}.${v.minor}.${v.patch}${
          v.prerelease ? `-${v.prerelease}` : ''
        }${v.metadata ? `+${v.metadata}` : ''}`,
      Original: () => v.original,
      Major: () => BigInt(v.major),
      Minor: () => BigInt(v.minor),
      Patch: () => BigInt(v.patch),
      Prerelease: () => v.prerelease,
      Metadata: () => v.metadata,
      Compare: (o: GoValue) => BigInt(compareSemVersions(v, other(o))),
      LessThan: (o: GoValue) => compareSemVersions(v, other(o)) < 0,
      GreaterThan: (o: GoValue) => compareSemVersions(v, other(o)) > 0,
      Equal: (o: GoValue) => compareSemVersions(v, other(o)) === 0,
    });
  }
}

/**
 * v3.3.0's `Check`: each constraint admits a prerelease only if it names one itself (and a
 * plain `!=` never looks at prereleases); v3.5, which the policy engine follows, decides per
 * AND group. So each constraint is checked as a group of its own.
 */
function satisfiesV33(v: SemVersion, cs: SemVerConstraints): boolean {
  return cs.groups.some(g =>
    g.constraints.every(c =>
      satisfiesConstraints(v, {
        groups: [
          {
            constraints: [c],
            includePrerelease:
              c.con.prerelease !== '' || (c.op === '!=' && !c.dirty),
          },
        ],
      }),
    ),
  );
}

/** `semver` and `semverCompare`. @internal */
export const semverFuncs: FuncMap = {
  semver: fn(['string'], (v: string) => new SemverValue(newVersion(v))),
  semverCompare: fn(['string', 'string'], (c: string, v: string) => {
    const cs = parseConstraints(c);
    // v3.3.0's wording: the improper constraint unquoted (v3.5, which the policy engine follows,
    // uses %q), `constraint Parser Error` capitalised
    if (!cs.ok)
      throw new GoFuncError(
        cs.message
          .replace('constraint parser error', 'constraint Parser Error')
          .replace(
            /^(improper constraint: )(".*")$/s,
            (_m, p: string, q: string) => p + JSON.parse(q),
          ),
      );
    return satisfiesV33(newVersion(v), cs.constraints);
  }),
};
