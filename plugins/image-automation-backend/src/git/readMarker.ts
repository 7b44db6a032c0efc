/** The JSON key of an image policy marker comment. @internal */
export const MARKER_KEY = '$imagepolicy';

/**
 * Reads a marker comment as kyaml's `FieldMeta.Read` does: strip every leading `#`, then the
 * rest must be one JSON object whose values are all strings, with a `$imagepolicy` key.
 * Returns the setter name, or undefined when the comment is not a marker.
 * @internal
 */
export function readMarker(comment: string): string | undefined {
  const text = comment.replace(/^#+/, '');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return undefined;
  const values = Object.values(parsed as Record<string, unknown>);
  if (!values.every(v => typeof v === 'string')) return undefined;
  const setter = (parsed as Record<string, string>)[MARKER_KEY];
  return Object.hasOwn(parsed, MARKER_KEY) ? setter : undefined;
}
