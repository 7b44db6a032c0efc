import { InputSource } from './types';

export type { InputSource, InputSourceContext, InputSourceResult } from './types';

/**
 * The ResourceSetInputProvider types served by a source of this folder, by `spec.type`. `Static`
 * and `OCIArtifactTag` are served by the reconciler itself (OCIArtifactTag shares registry
 * listings fleet-wide); a type in neither is Stalled `ProviderNotSupported`.
 * @internal
 */
export const INPUT_SOURCES: Readonly<Record<string, InputSource>> = {};
