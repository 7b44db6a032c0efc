/**
 * ResourceSet builder: inputs → combine → render → exclude/dedupe → objects (pure).
 *
 * @packageDocumentation
 */

export { buildResourceSet } from './buildResourceSet';
export type {
  BuildResourceSetInput,
  BuildResourceSetResult,
  EmptyInputsFromMode,
} from './buildResourceSet';
export { combineInputs, inputId, MAX_PERMUTATIONS } from './combineInputs';
export { normalizeKeyForTemplate } from './normalizeKeyForTemplate';
export { jsonToYamlTemplateText } from './jsonToYamlTemplateText';
export { selectProviders } from './selectProviders';
export { printObjects } from './printObjects';
export type {
  InputProvider,
  InputProviderReference,
  InputSet,
  KubeObject,
  LabelSelector,
  ResourceSetObject,
  ResourceSetStep,
  StepResult,
} from './types';
export {
  resourceSetFromManifest,
  staticProviderFromManifest,
} from './manifests';
