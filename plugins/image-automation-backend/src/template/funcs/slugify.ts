import unidecode from 'unidecode';
import { trimSpace } from './strings';

/** The Flux Operator's slug length limit (a Kubernetes label value). */
const MAX_LENGTH = 63;

/**
 * gosimple/slug `Make` as the Flux Operator configures it (`MaxLength` 63, smart truncation):
 * English substitutions, transliteration to ASCII, lower case, `[^a-z0-9-_]` → `-`, dashes
 * collapsed, `-`/`_` trimmed from both ends, then cut at the last dash before 63 bytes.
 * @internal
 */
export function slugify(s: string): string {
  let slug = trimSpace(s).replace(/&/g, 'and').replace(/@/g, 'at');
  slug = unidecode(slug).toLowerCase();
  slug = slug.replace(/[^a-zA-Z0-9\-_]/g, '-').replace(/-+/g, '-');
  slug = slug.replace(/^[-_]+|[-_]+$/g, '');
  if (slug.length <= MAX_LENGTH) return slug;
  for (let i = MAX_LENGTH; i >= 0; i--)
    if (slug[i] === '-') return slug.slice(0, i);
  return slug.slice(0, MAX_LENGTH);
}
