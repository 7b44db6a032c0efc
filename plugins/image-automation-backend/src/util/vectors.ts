import fs from 'node:fs';
import path from 'node:path';

/**
 * The conformance vectors produced by running the upstream Go libraries
 * (`shared/spec/vectors.json`, beside the repository; `IMAGE_AUTOMATION_VECTORS` overrides).
 * @internal
 */
export function loadVectors(): Record<string, any[]> {
  const file =
    process.env.IMAGE_AUTOMATION_VECTORS ??
    path.resolve(__dirname, '../../../../../shared/spec/vectors.json');
  if (!fs.existsSync(file)) {
    throw new Error(`conformance vectors not found at ${file}; set IMAGE_AUTOMATION_VECTORS`);
  }
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}
