/**
 * YAML as the Flux Operator reads and writes it: `sigs.k8s.io/yaml` (go-yaml v2 resolution of
 * plain scalars, then the YAML → JSON → Go value round trip) for reading, go-yaml's emitter
 * for `toYaml` and for printing objects.
 *
 * @packageDocumentation
 */

export { parseYaml, parseYamlDocuments, YamlError } from './decode';
export { emitYaml, yamlKeyLess, yamlSortedKeys } from './emit';
export { jsonNormalize, marshalYaml } from './marshal';
export { isBase60Float, resolvePlain } from './resolve';
export type { Resolved } from './resolve';
