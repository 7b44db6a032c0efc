import { parseConstraints, parseSemVersion, satisfiesConstraints, compareSemVersions } from '../policy';

/** A GitRepository `spec.ref` / ImageUpdateAutomation `git.checkout.ref`. @internal */
export interface GitReference {
  branch?: string;
  tag?: string;
  semver?: string;
  name?: string;
  commit?: string;
}

/** What to fetch for a reference, in Flux's precedence (commit, name, semver, tag, branch). @internal */
export type ResolvedRef =
  | { kind: 'branch'; branch: string; refName: string }
  | { kind: 'tag' | 'semver'; tag: string; refName: string }
  | { kind: 'name'; refName: string }
  | { kind: 'commit'; commit: string; branch?: string };

/**
 * Picks the tag that a `semver` reference selects: the highest version among the remote's tags
 * that satisfies the range (Masterminds semantics, as Flux's source-controller).
 * @internal
 */
export function selectSemverTag(range: string, tags: string[]): string {
  const parsed = parseConstraints(range);
  if (!parsed.ok) throw new Error(`semver parse error: ${parsed.message}`);
  let best: { tag: string; version: NonNullable<ReturnType<typeof parseSemVersion>> } | undefined;
  for (const tag of tags) {
    const version = parseSemVersion(tag);
    if (!version || !satisfiesConstraints(version, parsed.constraints)) continue;
    if (!best || compareSemVersions(version, best.version) > 0) best = { tag, version };
  }
  if (!best) throw new Error(`no match found for semver: ${range}`);
  return best.tag;
}

/**
 * Resolves a reference to what must be fetched; `semver` needs the remote's tags. With no
 * reference at all Flux checks out `master`.
 * @internal
 */
export function resolveRef(ref: GitReference | undefined, remoteTags: () => string[]): ResolvedRef {
  if (ref?.commit) return { kind: 'commit', commit: ref.commit, branch: ref.branch };
  if (ref?.name) return { kind: 'name', refName: ref.name };
  if (ref?.semver) {
    const tag = selectSemverTag(ref.semver, remoteTags());
    return { kind: 'semver', tag, refName: `refs/tags/${tag}` };
  }
  if (ref?.tag) return { kind: 'tag', tag: ref.tag, refName: `refs/tags/${ref.tag}` };
  const branch = ref?.branch || 'master';
  return { kind: 'branch', branch, refName: `refs/heads/${branch}` };
}

/** Flux's revision string: `<branch|tag|name>@sha1:<hash>`, or `sha1:<hash>` for a bare commit. @internal */
export function formatRevision(resolved: ResolvedRef, hash: string): string {
  switch (resolved.kind) {
    case 'branch':
      return `${resolved.branch}@sha1:${hash}`;
    case 'tag':
    case 'semver':
      return `${resolved.tag}@sha1:${hash}`;
    case 'name':
      return `${resolved.refName}@sha1:${hash}`;
    default:
      return resolved.branch ? `${resolved.branch}@sha1:${hash}` : `sha1:${hash}`;
  }
}
