/**
 * The plain data the policy engine works on: the `spec.policy` / `spec.filterTags` parts of a
 * Flux ImagePolicy and the result of selecting a tag.
 */

/** `spec.policy` of an ImagePolicy; the first of semver, alphabetical, numerical wins. @internal */
export interface ImagePolicyChoice {
  semver?: { range: string };
  alphabetical?: { order?: string };
  numerical?: { order?: string };
}

/** `spec.filterTags` of an ImagePolicy. @internal */
export interface TagFilter {
  pattern?: string;
  extract?: string;
}

/**
 * Why a selection failed, with Flux's reason:
 * - `InvalidPolicy`: the policy or its `filterTags.pattern` is invalid — Stalled, not retried;
 * - `DependencyNotReady`: the repository has no tags yet (`no tags in database`) — not an
 *   error, the policy waits for the next scan;
 * - `Failure`: no tag could be selected — retried with backoff.
 * @internal
 */
export type PolicySelection =
  | { ok: true; tag: string }
  | {
      ok: false;
      reason: 'InvalidPolicy' | 'Failure' | 'DependencyNotReady';
      message: string;
      stalled: boolean;
    };

/** Arguments of a selection. `tags` are in the order the controller iterates them (stored order). @internal */
export interface SelectLatestTagArgs {
  policy: ImagePolicyChoice;
  filterTags?: TagFilter;
  tags: readonly string[];
}
