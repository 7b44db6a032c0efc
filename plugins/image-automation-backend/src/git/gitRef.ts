import {
  parseConstraints,
  parseSemVersion,
  satisfiesConstraints,
  compareSemVersions,
} from '../golib/semver';
import {
  checkBranchName,
  checkCommitHash,
  checkTagName,
  InvalidGitArgumentError,
  refNameProblem,
} from './refFormat';

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
  let best:
    | { tag: string; version: NonNullable<ReturnType<typeof parseSemVersion>> }
    | undefined;
  for (const tag of tags) {
    const version = parseSemVersion(tag);
    if (!version || !satisfiesConstraints(version, parsed.constraints))
      continue;
    if (!best || compareSemVersions(version, best.version) > 0)
      best = { tag, version };
  }
  if (!best) throw new Error(`no match found for semver: ${range}`);
  return best.tag;
}

/**
 * Checks every field of a reference a manifest gives (`check-ref-format` rules, no leading `-`,
 * full commit hashes), before any of it reaches git; throws {@link InvalidGitArgumentError}.
 * @internal
 */
export function validateGitReference(
  ref: GitReference | undefined,
  where: string,
): void {
  if (!ref) return;
  if (ref.branch) checkBranchName(ref.branch, `${where}.branch`);
  if (ref.tag) checkTagName(ref.tag, `${where}.tag`);
  if (ref.commit) checkCommitHash(ref.commit, `${where}.commit`);
  if (ref.name) {
    const problem = ref.name.startsWith('refs/')
      ? refNameProblem(ref.name)
      : "it must start with 'refs/'";
    if (problem)
      throw new InvalidGitArgumentError(
        `invalid ${where}.name '${ref.name}': ${problem}`,
      );
  }
}

/**
 * Resolves a reference to what must be fetched; `semver` needs the remote's tags. With no
 * reference at all Flux checks out `master`. Every name is validated first.
 * @internal
 */
export function resolveRef(
  ref: GitReference | undefined,
  remoteTags: () => string[],
): ResolvedRef {
  validateGitReference(ref, 'ref');
  if (ref?.commit)
    return { kind: 'commit', commit: ref.commit, branch: ref.branch };
  if (ref?.name) return { kind: 'name', refName: ref.name };
  if (ref?.semver) {
    const tag = checkTagName(
      selectSemverTag(ref.semver, remoteTags()),
      'tag selected by semver',
    );
    return { kind: 'semver', tag, refName: `refs/tags/${tag}` };
  }
  if (ref?.tag)
    return { kind: 'tag', tag: ref.tag, refName: `refs/tags/${ref.tag}` };
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
      return resolved.branch
        ? `${resolved.branch}@sha1:${hash}`
        : `sha1:${hash}`;
  }
}
