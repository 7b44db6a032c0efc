import { marshalYaml } from '../golib/yaml';
import { StepResult } from './types';

/**
 * The objects as `flux-operator build rset` prints them: `# step: NAME` before each named
 * step that has objects, then every object as `---` and its sorted-key YAML.
 * @internal
 */
export function printObjects(steps: StepResult[]): string {
  let out = '';
  for (const step of steps) {
    if (step.name !== '' && step.objects.length > 0)
      out += `# step: ${step.name}\n`;
    for (const o of step.objects) out += `---\n${marshalYaml(o)}`;
  }
  return out;
}
