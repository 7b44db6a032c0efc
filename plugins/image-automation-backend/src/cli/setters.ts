/**
 * `image-automation setters apply`: applies image policy markers to a directory of manifests,
 * given each policy's `latestRef` — a local preview of what an ImageUpdateAutomation would
 * commit.
 */

import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ImageRef } from '@imageops/backstage-plugin-image-automation-common';
import { applyPoliciesToTree } from '../git/applyPoliciesToTree';
import { CliCommand } from './types';
import { parseCommandArgs, usageError } from './args';

const APPLY_USAGE =
  'usage: image-automation setters apply --refs FILE --path DIR --namespace NS [--dry-run] [--json]\n' +
  '  --refs FILE       YAML or JSON map: policy name -> {name, tag, digest} (its latestRef; null if none)\n' +
  '  --path DIR        the directory (or file) whose markers are applied\n' +
  '  --namespace NS    the automation\'s namespace: only markers "NS:<policy>" are applied\n' +
  '  --dry-run         print the changes without writing files\n' +
  '  --json            print {"changes":[…],"warnings":[…]}\n';

/** Reads the `--refs` map, checking each entry has string `name` and `tag`. */
function readRefs(text: string): Map<string, ImageRef | undefined> {
  const parsed = parseYaml(text);
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new Error(
      '--refs must be a map of policy name to {name, tag, digest}',
    );
  }
  const refs = new Map<string, ImageRef | undefined>();
  for (const [policy, value] of Object.entries(parsed as Record<string, any>)) {
    if (value === null) {
      refs.set(policy, undefined);
      continue;
    }
    if (typeof value?.name !== 'string' || typeof value?.tag !== 'string') {
      throw new Error(
        `--refs: policy '${policy}' needs string 'name' and 'tag'`,
      );
    }
    if (value.digest !== undefined && typeof value.digest !== 'string') {
      throw new Error(
        `--refs: policy '${policy}' has a digest that is not a string`,
      );
    }
    refs.set(policy, {
      name: value.name,
      tag: value.tag,
      ...(value.digest ? { digest: value.digest } : {}),
    });
  }
  return refs;
}

const applyCommand: CliCommand = {
  summary:
    'apply image policy markers to a directory, as an ImageUpdateAutomation would',
  async run(args, io) {
    const parsed = parseCommandArgs(io, APPLY_USAGE, {
      args,
      options: {
        refs: { type: 'string' },
        path: { type: 'string' },
        namespace: { type: 'string' },
        'dry-run': { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
      },
      strict: true,
      allowPositionals: false,
    });
    if (!parsed.ok) return parsed.exitCode;
    const { values } = parsed.parsed;
    if (!values.refs || !values.path || !values.namespace) {
      return usageError(
        io,
        APPLY_USAGE,
        '--refs, --path and --namespace are required',
      );
    }
    try {
      const policies = readRefs(await io.readFile(values.refs));
      const root = path.resolve(values.path);
      const result = await applyPoliciesToTree({
        repoRoot: root,
        updatePath: root,
        namespace: values.namespace,
        policies,
        dryRun: values['dry-run'],
      });
      const changes = [...result.fileChanges.entries()]
        .sort(([a], [b]) => Number(a > b) - Number(a < b))
        .flatMap(([file, list]) =>
          list.map(c => ({
            file,
            line: c.line,
            setter: c.setter,
            oldValue: c.oldValue,
            newValue: c.newValue,
          })),
        );
      if (values.json) {
        io.stdout.write(
          `${JSON.stringify(
            { changes, warnings: result.warnings },
            null,
            2,
          )}\n`,
        );
      } else {
        for (const c of changes) {
          io.stdout.write(
            `${c.file}:${c.line}: ${c.setter}: ${c.oldValue} -> ${c.newValue}\n`,
          );
        }
        for (const w of result.warnings) {
          io.stderr.write(`warning: ${w.file}:${w.line}: ${w.message}\n`);
        }
        const verb = values['dry-run'] ? 'would change' : 'changed';
        io.stdout.write(
          `${verb} ${changes.length} value(s) in ${result.fileChanges.size} file(s)\n`,
        );
      }
      return 0;
    } catch (error) {
      io.stderr.write(`image-automation: ${(error as Error).message}\n`);
      return 1;
    }
  },
};

/** The `setters` commands. @internal */
export const setterCommands: Record<string, CliCommand> = {
  'setters apply': applyCommand,
};
