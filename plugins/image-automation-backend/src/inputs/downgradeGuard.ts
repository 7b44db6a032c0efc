import { OBJECT_ANNOTATIONS } from '@imageops/backstage-plugin-image-automation-common';
import { filterProviderTags, RsipFilter } from '../policy';
import { ExportedInput } from './exportedInputs';

/** The opt-in annotation for {@link checkDowngrade} (`enabled` turns it on). @internal */
export const DOWNGRADE_GUARD_ANNOTATION = OBJECT_ANNOTATIONS.downgradeGuard;

/** What {@link checkDowngrade} found. @internal */
export type DowngradeCheck =
  | { hold: false }
  | {
      hold: true;
      /** The newest previously exported tag, no longer listed by the registry. */
      missingTag: string;
      /** What the selection falls back to without the guard (undefined: nothing). */
      fallbackTag?: string;
    };

/**
 * Flux Operator issue 1016: when the newest tag is deleted from the registry, an OCI provider
 * silently exports the next older one. With the guard, the previous inputs are held when the
 * newest previously exported tag is gone from the listing and would still come first under the
 * provider's filter and ordering had it been listed (so a changed filter or a newer tag is never
 * held back).
 * @internal
 */
export function checkDowngrade(args: {
  filter: RsipFilter | undefined;
  listedTags: readonly string[];
  selectedTags: readonly string[];
  previous: ReadonlyArray<ExportedInput> | undefined;
}): DowngradeCheck {
  const newest = args.previous?.[0]?.tag;
  if (typeof newest !== 'string' || args.listedTags.includes(newest))
    return { hold: false };
  const withNewest = filterProviderTags(args.filter, [
    ...args.listedTags,
    newest,
  ]);
  if (!withNewest.ok || withNewest.tags[0] !== newest) return { hold: false };
  return { hold: true, missingTag: newest, fallbackTag: args.selectedTags[0] };
}
