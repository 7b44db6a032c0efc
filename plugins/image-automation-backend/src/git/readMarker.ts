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
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
    return undefined;
  const values = Object.values(parsed as Record<string, unknown>);
  if (!values.every(v => typeof v === 'string')) return undefined;
  const setter = (parsed as Record<string, string>)[MARKER_KEY];
  return Object.hasOwn(parsed, MARKER_KEY) ? setter : undefined;
}

/** The key of v1alpha1-era markers written without `$` (`{"imagepolicy": "ns:name"}`), which Flux ignores. @internal */
export const LEGACY_MARKER_KEY = 'imagepolicy';

/** A comment that looks like a marker but has no `$` in its key, and so is not one. @internal */
export interface LegacyMarker {
  /** 1-based line of the comment. */
  line: number;
  /** The value it names (`ns:name[:field]`). */
  setter: string;
}

/**
 * The comments of a file that would be markers but for the missing `$`
 * (`# {"imagepolicy": "ns:name"}`): read as {@link readMarker} reads a marker, with key
 * `imagepolicy` instead of `$imagepolicy`. Flux does not apply them; the automation reports them.
 * @internal
 */
export function findLegacyMarkers(text: string): LegacyMarker[] {
  const found: LegacyMarker[] = [];
  text.split('\n').forEach((raw, index) => {
    if (!raw.includes(`"${LEGACY_MARKER_KEY}"`)) return;
    const match = /(?:^|[ \t])(#.*)$/.exec(raw.replace(/\r$/, ''));
    if (!match) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(match[1].replace(/^#+/, ''));
    } catch {
      return;
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
      return;
    const record = parsed as Record<string, unknown>;
    if (
      Object.hasOwn(record, MARKER_KEY) ||
      !Object.hasOwn(record, LEGACY_MARKER_KEY)
    )
      return;
    if (!Object.values(record).every(v => typeof v === 'string')) return;
    found.push({
      line: index + 1,
      setter: record[LEGACY_MARKER_KEY] as string,
    });
  });
  return found;
}
