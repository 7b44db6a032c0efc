/**
 * `image-automation policy select` and `image-automation rsip tags`: the policy engine for CI
 * pipelines and local previews, on a manifest and a list of tags.
 */

import { parseAllDocuments } from 'yaml';
import {
  explainSelection,
  filterProviderTags,
  ImagePolicyChoice,
  RsipFilter,
  sortTagsAsStored,
  TAG_VERDICT_SENTENCES,
  TagFilter,
} from '../policy';
import { CliCommand, CliIO } from './types';
import { parseCommandArgs, usageError } from './args';

/** Tags from a file: one per line, blank lines ignored. */
function readTagLines(text: string): string[] {
  return text
    .split('\n')
    .map(line => line.trim())
    .filter(line => line !== '');
}

/** The first YAML document with the given kind, or the only document. */
function findManifest(text: string, kind: string): Record<string, any> {
  const docs = parseAllDocuments(text);
  const values: any[] = [];
  for (const doc of docs) {
    if (doc.errors.length > 0) throw new Error(doc.errors[0].message);
    const value = doc.toJS();
    if (value !== null && value !== undefined) values.push(value);
  }
  const match = values.find(v => v && typeof v === 'object' && v.kind === kind);
  if (match) return match;
  if (values.length === 1 && values[0] && typeof values[0] === 'object')
    return values[0];
  throw new Error(`no ${kind} found`);
}

async function readInput(
  io: CliIO,
  file: string,
  what: string,
): Promise<string> {
  try {
    return await io.readFile(file);
  } catch (error) {
    throw new Error(`cannot read ${what} ${file}: ${(error as Error).message}`);
  }
}

const SELECT_USAGE =
  'usage: image-automation policy select --policy FILE --tags FILE [--no-sort] [--explain] [--json]\n' +
  '  --policy FILE  an ImagePolicy manifest (its spec.policy and spec.filterTags are used)\n' +
  '  --tags FILE    tags, one per line (- for standard input)\n' +
  '  --no-sort      take the tags in the given order (the order the controller iterates),\n' +
  '                 instead of sorting them the way the ImageRepository stores them\n' +
  '  --explain      say for every tag why it was or was not selected\n' +
  '  --json         print {"tag"} or {"error","reason"} (with --explain, "verdicts" too)\n';

const selectCommand: CliCommand = {
  summary: 'select the latest tag with an ImagePolicy, as Flux does',
  async run(args, io) {
    const parsed = parseCommandArgs(io, SELECT_USAGE, {
      args,
      options: {
        policy: { type: 'string' },
        tags: { type: 'string' },
        'no-sort': { type: 'boolean', default: false },
        explain: { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
      },
      strict: true,
    });
    if (!parsed.ok) return parsed.exitCode;
    const { values } = parsed.parsed;
    if (!values.policy || !values.tags) {
      return usageError(
        io,
        SELECT_USAGE,
        'both --policy and --tags are required',
      );
    }
    if (values.policy === '-' && values.tags === '-') {
      return usageError(
        io,
        SELECT_USAGE,
        'only one of --policy and --tags can be standard input',
      );
    }
    let policy: ImagePolicyChoice;
    let filterTags: TagFilter | undefined;
    let tags: string[];
    try {
      const manifest = findManifest(
        await readInput(io, values.policy, 'policy'),
        'ImagePolicy',
      );
      policy = manifest.spec?.policy ?? {};
      filterTags = manifest.spec?.filterTags ?? undefined;
      tags = readTagLines(await readInput(io, values.tags, 'tags'));
    } catch (error) {
      return usageError(io, SELECT_USAGE, (error as Error).message);
    }
    if (!values['no-sort']) tags = sortTagsAsStored(tags);

    const { selection, verdicts } = explainSelection({
      policy,
      filterTags,
      tags,
    });
    if (values.json) {
      const body: Record<string, unknown> = selection.ok
        ? { tag: selection.tag }
        : { error: selection.message, reason: selection.reason };
      if (values.explain) {
        body.verdicts = verdicts.map(v => ({
          ...v,
          sentence: TAG_VERDICT_SENTENCES[v.verdict],
        }));
      }
      io.stdout.write(`${JSON.stringify(body)}\n`);
    } else {
      if (selection.ok) io.stdout.write(`${selection.tag}\n`);
      else
        io.stderr.write(`error: ${selection.message} (${selection.reason})\n`);
      if (values.explain) {
        const width = Math.max(3, ...verdicts.map(v => v.tag.length));
        const verdictWidth = Math.max(
          ...verdicts.map(v => v.verdict.length),
          7,
        );
        for (const v of verdicts) {
          const detail = v.detail ? ` (${v.detail})` : '';
          io.stdout.write(
            `${v.tag.padEnd(width)}  ${v.verdict.padEnd(verdictWidth)}  ${
              TAG_VERDICT_SENTENCES[v.verdict]
            }${detail}\n`,
          );
        }
      }
    }
    return selection.ok ? 0 : 1;
  },
};

const RSIP_USAGE =
  'usage: image-automation rsip tags --filter FILE --tags FILE [--json]\n' +
  '  --filter FILE  a ResourceSetInputProvider manifest, or just its spec.filter, in YAML\n' +
  '  --tags FILE    tags in registry listing order, one per line (- for standard input)\n' +
  '  --json         print {"tags": [...]} or {"error"}\n';

const rsipTagsCommand: CliCommand = {
  summary: 'filter and order tags with a ResourceSetInputProvider spec.filter',
  async run(args, io) {
    const parsed = parseCommandArgs(io, RSIP_USAGE, {
      args,
      options: {
        filter: { type: 'string' },
        tags: { type: 'string' },
        json: { type: 'boolean', default: false },
      },
      strict: true,
    });
    if (!parsed.ok) return parsed.exitCode;
    const { values } = parsed.parsed;
    if (!values.filter || !values.tags) {
      return usageError(
        io,
        RSIP_USAGE,
        'both --filter and --tags are required',
      );
    }
    if (values.filter === '-' && values.tags === '-') {
      return usageError(
        io,
        RSIP_USAGE,
        'only one of --filter and --tags can be standard input',
      );
    }
    let filter: RsipFilter;
    let tags: string[];
    try {
      const doc = findManifest(
        await readInput(io, values.filter, 'filter'),
        'ResourceSetInputProvider',
      );
      filter =
        doc.kind === 'ResourceSetInputProvider' ? doc.spec?.filter ?? {} : doc;
      tags = readTagLines(await readInput(io, values.tags, 'tags'));
    } catch (error) {
      return usageError(io, RSIP_USAGE, (error as Error).message);
    }
    const result = filterProviderTags(filter, tags);
    if (values.json) {
      io.stdout.write(
        `${JSON.stringify(
          result.ok ? { tags: result.tags } : { error: result.message },
        )}\n`,
      );
    } else if (result.ok) {
      io.stdout.write(result.tags.map(t => `${t}\n`).join(''));
    } else {
      io.stderr.write(`error: ${result.message}\n`);
    }
    return result.ok ? 0 : 1;
  },
};

/**
 * The policy commands of the `image-automation` tool.
 * @internal
 */
export const policyCommands: Record<string, CliCommand> = {
  'policy select': selectCommand,
  'rsip tags': rsipTagsCommand,
};
