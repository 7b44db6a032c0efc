import { GoValue } from '../golib/reflect';
import { marshalYaml } from '../golib/yaml';

/**
 * The template text the Flux Operator renders for one `.spec.resources[i]`:
 * `sigs.k8s.io/yaml.JSONToYAML` of the JSON object, i.e. sorted keys, go-yaml v2 quoting.
 * Template actions in string values therefore stay plain unless YAML needs quotes
 * (`'<< inputs.a >>: x'`), and multi-line strings become `|` blocks.
 * @internal
 */
export function jsonToYamlTemplateText(resource: GoValue): string {
  return marshalYaml(resource);
}
