/**
 * The parts of an image reference as written (`host:5000/app:1.0@sha256:…`), without
 * canonicalising it: the tag is what follows the last `:` after the last `/`.
 * @internal
 */
export function splitImageRef(value: string): {
  repository: string;
  tag?: string;
  digest?: string;
} {
  const [ref, digest] = value.split('@', 2);
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  const parts =
    colon > slash
      ? { repository: ref.slice(0, colon), tag: ref.slice(colon + 1) }
      : { repository: ref };
  return digest ? { ...parts, digest } : parts;
}
