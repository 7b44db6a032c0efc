/**
 * `image-automation image canonical NAME`: how an ImageRepository's `spec.image` is parsed,
 * with Flux's canonical name or its exact error message.
 */

import { parseImageReference } from '../registry';
import { CliCommand, CliIO } from './types';
import { parseCommandArgs, usageError } from './args';

const CANONICAL_USAGE =
  'usage: image-automation image canonical NAME [--insecure] [--json]\n' +
  '  NAME        an image repository without tag or digest, e.g. ghcr.io/org/app or alpine\n' +
  '  --insecure  as spec.insecure: use plain HTTP\n' +
  '  --json      print {"canonical","registry","repository","scheme"} or {"error"}\n';

async function canonical(args: string[], io: CliIO): Promise<number> {
  const result = parseCommandArgs(io, CANONICAL_USAGE, {
    args,
    allowPositionals: true,
    options: {
      insecure: { type: 'boolean' },
      json: { type: 'boolean' },
    },
  });
  if (!result.ok) return result.exitCode;
  const parsed = result.parsed;
  if (parsed.positionals.length !== 1) {
    return usageError(io, CANONICAL_USAGE, 'expected exactly one image name');
  }
  const json = parsed.values.json === true;
  try {
    const ref = parseImageReference(parsed.positionals[0], {
      insecure: parsed.values.insecure === true,
    });
    if (json) {
      io.stdout.write(
        `${JSON.stringify({
          canonical: ref.canonical,
          registry: ref.registry,
          repository: ref.repository,
          scheme: ref.scheme,
        })}\n`,
      );
    } else {
      io.stdout.write(
        `canonical:  ${ref.canonical}\nregistry:   ${ref.registry}\nrepository: ${ref.repository}\nscheme:     ${ref.scheme}\n`,
      );
    }
    return 0;
  } catch (error) {
    const message = (error as Error).message;
    if (json) {
      io.stdout.write(`${JSON.stringify({ error: message })}\n`);
    } else {
      io.stderr.write(`image-automation: ${message}\n`);
    }
    return 1;
  }
}

/** The `image …` commands. @internal */
export const imageCommands: Record<string, CliCommand> = {
  'image canonical': {
    summary:
      "print an image name's Flux canonical name, registry, repository and scheme",
    run: canonical,
  },
};
