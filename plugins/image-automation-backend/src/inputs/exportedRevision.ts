import { createHash } from 'node:crypto';
import { GoValue } from '../golib/reflect';
import { marshalYaml } from '../golib/yaml';
import { ExportedInput } from './exportedInputs';

/**
 * `status.lastExportedRevision`: `sha256:` and the hex SHA-256 of the inputs as
 * `sigs.k8s.io/yaml` prints them (sorted keys, YAML 1.1 quoting), as the Flux Operator does.
 * @internal
 */
export function exportedRevision(inputs: ReadonlyArray<ExportedInput>): string {
  const yaml = marshalYaml(inputs as unknown as GoValue);
  return `sha256:${createHash('sha256').update(yaml, 'utf8').digest('hex')}`;
}
