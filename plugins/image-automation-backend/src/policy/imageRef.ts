/**
 * `status.latestRef` / `status.observedPreviousRef` of an ImagePolicy and how a reconcile
 * moves them (as Flux's `updateImageRefs` does), plus the Ready message.
 */

/** An image reference as Flux stores it: `name` is the ImageRepository's `spec.image` verbatim. @internal */
export interface ImageRef {
  name: string;
  tag: string;
  digest?: string;
}

/** `spec.digestReflectionPolicy`; Flux's default is `Never`. @internal */
export type DigestReflectionPolicy = 'Never' | 'IfNotPresent' | 'Always';

/** What the reconciler must do to finish a selection. @internal */
export interface DigestReflectionPlan {
  /** The new ref; its digest is already final unless `fetchDigest` is true. */
  ref: ImageRef;
  /** Whether to HEAD `<name>:<tag>` and put the `Docker-Content-Digest` into `ref.digest`. */
  fetchDigest: boolean;
  /** The reference to HEAD (`<spec.image>:<tag>`). */
  reference: string;
}

/**
 * First half of Flux's `updateImageRefs`: the new ref for the selected tag and whether its
 * digest must be fetched — `Never`: no digest; `IfNotPresent`: fetch when there is no
 * previous ref, the name or tag changed, or the previous ref has no digest, otherwise keep the
 * previous digest; `Always`: fetch on every reconcile.
 * @internal
 */
export function planDigestReflection(args: {
  policy?: DigestReflectionPolicy;
  /** The ImageRepository's `spec.image`, verbatim (not the canonical name). */
  image: string;
  tag: string;
  /** The current `status.latestRef`. */
  latestRef?: ImageRef;
}): DigestReflectionPlan {
  const ref: ImageRef = { name: args.image, tag: args.tag };
  const previous = args.latestRef;
  let fetchDigest = false;
  if (args.policy === 'IfNotPresent') {
    fetchDigest =
      !previous ||
      previous.name !== ref.name ||
      previous.tag !== ref.tag ||
      !previous.digest;
    if (!fetchDigest && previous?.digest) ref.digest = previous.digest;
  } else if (args.policy === 'Always') {
    fetchDigest = true;
  }
  return { ref, fetchDigest, reference: `${args.image}:${args.tag}` };
}

const sameRef = (a: ImageRef, b: ImageRef) =>
  a.name === b.name && a.tag === b.tag && (a.digest ?? '') === (b.digest ?? '');

/**
 * Second half of `updateImageRefs`: `observedPreviousRef` becomes the old `latestRef` only
 * when the new ref (name, tag, digest) differs; otherwise both stay as they are. Flux never
 * resets `observedPreviousRef` on failure, so a failed reconcile must not call this.
 * @internal
 */
export function updateImageRefs(args: {
  ref: ImageRef;
  latestRef?: ImageRef;
  observedPreviousRef?: ImageRef;
}): { latestRef: ImageRef; observedPreviousRef?: ImageRef; changed: boolean } {
  if (args.latestRef && sameRef(args.ref, args.latestRef)) {
    return {
      latestRef: args.latestRef,
      observedPreviousRef: args.observedPreviousRef,
      changed: false,
    };
  }
  return {
    latestRef: args.ref,
    observedPreviousRef: args.latestRef,
    changed: true,
  };
}

/**
 * The Ready=False message when the digest HEAD fails (reason `Failure`, retried).
 * @internal
 */
export function digestFetchFailureMessage(
  ref: ImageRef,
  error: string,
): string {
  const reference = `${ref.name}:${ref.tag}`;
  return `failed fetching digest of ${reference}: failed fetching descriptor for "${reference}": ${error}`;
}

/**
 * How long until the next reconcile: only `Always` requeues, every `interval` (default 10m).
 * Returns milliseconds, or undefined when the policy waits for repository changes.
 * @internal
 */
export function imagePolicyRequeueAfter(
  policy: DigestReflectionPolicy | undefined,
  intervalMs?: number,
): number | undefined {
  if (policy !== 'Always') return undefined;
  return intervalMs && intervalMs > 0 ? intervalMs : 10 * 60 * 1000;
}

/**
 * Flux's `composeImagePolicyReadyMessage`, e.g.
 * `Latest image tag for foo/bar resolved to 1.1.0 (previously foo/bar:1.0.0)`.
 * @internal
 */
export function composeImagePolicyReadyMessage(
  latest: ImageRef,
  previous?: ImageRef,
): string {
  let message = `Latest image tag for ${latest.name} resolved to ${latest.tag}`;
  if (latest.digest) message += ` with digest ${latest.digest}`;
  if (previous && !sameRef(latest, previous)) {
    message += ` (previously ${previous.name}:${previous.tag}`;
    if (previous.digest) message += `@${previous.digest}`;
    message += ')';
  }
  return message;
}
