/**
 * The inputs a ResourceSetInputProvider exports (`status.exportedInputs`), per provider type.
 */

import { adler32 } from '../golib/adler32';

/** One exported input: a map of JSON values, `id` always a string. @internal */
export type ExportedInput = Record<string, unknown>;

/** The Flux Operator's input id: the decimal Adler-32 of the UTF-8 bytes. @internal */
export function inputId(text: string): string {
  return String(adler32(text));
}

/**
 * Inputs of an `*ArtifactTag` provider: one per selected tag, in selection order, with the
 * digest the tag points at.
 * @internal
 */
export function artifactTagInputs(
  tags: ReadonlyArray<{ tag: string; digest: string }>,
): ExportedInput[] {
  return tags.map(({ tag, digest }) => ({ id: inputId(tag), tag, digest }));
}

/**
 * The single input of a `Static` provider. The Flux Operator uses the Adler-32 of the object's
 * UID; objects here have no UID, so the id is the Adler-32 of `<namespace>/<name>`, which is
 * as stable as a UID while the object exists.
 * @internal
 */
export function staticInput(namespace: string, name: string): ExportedInput {
  return { id: inputId(`${namespace}/${name}`) };
}

/**
 * `spec.defaultValues` merged into every input, only for keys the input does not have (the
 * provider's values win), keys in sorted order.
 * @internal
 */
export function withDefaultValues(
  inputs: ReadonlyArray<ExportedInput>,
  defaultValues: Record<string, unknown> | undefined,
): ExportedInput[] {
  return inputs.map(input => {
    const merged: ExportedInput = { ...(defaultValues ?? {}), ...input };
    return Object.fromEntries(
      Object.keys(merged)
        .sort()
        .map(key => [key, merged[key]]),
    );
  });
}
