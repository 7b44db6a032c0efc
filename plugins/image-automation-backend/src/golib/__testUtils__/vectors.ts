import fs from 'node:fs';
import path from 'node:path';

/**
 * The conformance vectors produced by running the upstream Go libraries (the project's shared
 * specification's `vectors.json`, copied into the repository; its `_about` says how they were
 * made). `IMAGE_AUTOMATION_VECTORS` points at another copy.
 * @internal
 */
export const VECTORS_FILE =
  process.env.IMAGE_AUTOMATION_VECTORS ??
  path.resolve(__dirname, '../../__fixtures__/conformance-vectors.json');

/** The conformance vectors as plain JSON. @internal */
export function loadVectors(): Record<string, any[]> {
  const file = VECTORS_FILE;
  if (!fs.existsSync(file)) {
    throw new Error(
      `conformance vectors not found at ${file}; set IMAGE_AUTOMATION_VECTORS`,
    );
  }
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}
