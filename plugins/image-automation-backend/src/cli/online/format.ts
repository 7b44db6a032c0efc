/**
 * Output of the online commands: `flux get`-style tables, JSON and YAML, and the columns each
 * kind of automation object shows.
 */

import { stringify } from 'yaml';
import type {
  AutomationObjectView,
  Condition,
} from '@imageops/backstage-plugin-image-automation-common';
import { CliError } from './client';

/** `-o` of the listing commands. @internal */
export type OutputFormat = 'table' | 'json' | 'yaml';

/** Reads `-o`; anything else is a usage error. @internal */
export function outputFormatOf(value: string | undefined): OutputFormat {
  if (value === undefined || value === 'table') return 'table';
  if (value === 'json' || value === 'yaml') return value;
  throw new CliError(
    `invalid output format '${value}': expected table, json or yaml`,
    2,
  );
}

/** JSON (2-space indent) or YAML of a value, ending with a new line. @internal */
export function serialize(value: unknown, format: 'json' | 'yaml'): string {
  return format === 'json'
    ? `${JSON.stringify(value, null, 2)}\n`
    : stringify(value, { lineWidth: 0 });
}

/**
 * A table as `flux get` prints it: upper-case headers, columns left-aligned and separated by
 * tabs after padding, one line per row. Tabs and new lines inside cells become spaces.
 * @internal
 */
export function formatTable(headers: string[], rows: string[][]): string {
  const clean = (cell: string) => cell.replace(/[\t\r\n]+/g, ' ');
  const all = [headers, ...rows.map(r => r.map(clean))];
  const widths = headers.map((_, i) =>
    Math.max(...all.map(r => (r[i] ?? '').length)),
  );
  return all
    .map(row =>
      row
        .map((cell, i) =>
          i === row.length - 1 ? cell : (cell ?? '').padEnd(widths[i]),
        )
        .join('\t')
        .trimEnd(),
    )
    .map(line => `${line}\n`)
    .join('');
}

/** The `Ready` condition of an object, if any. @internal */
export function readyOf(
  object: Pick<AutomationObjectView, 'status'>,
): Condition | undefined {
  return object.status?.conditions?.find(c => c.type === 'Ready');
}

/** `True` / `False` as Flux prints booleans. */
const bool = (value: boolean) => (value ? 'True' : 'False');

/** The first 12 characters of a `sha256:` digest, after the prefix. */
export function shortDigest(value: string | undefined): string {
  if (!value) return '';
  const m = value.match(/^(sha256|sha1):([0-9a-f]+)$/);
  return m ? `${m[1]}:${m[2].slice(0, 12)}` : value;
}

/** A Git revision `main@sha1:<40 hex>` shortened as Flux does (`main@sha1:1a2b3c4d`). */
function shortRevision(value: string | undefined): string {
  if (!value) return '';
  return value.replace(/(sha1|sha256):([0-9a-f]{8})[0-9a-f]+/, '$1:$2');
}

/** One kind's extra column: its header and value (what flux calls REVISION / LATEST IMAGE / LAST SCAN). */
interface KindColumns {
  /** The `get` word and aliases. */
  names: string[];
  kind: string;
  /** Header of the revision-like column; absent when the kind has none. */
  revision?: { header: string; value(o: AutomationObjectView): string };
  /** Whether the kind can be suspended (ManifestError placeholders cannot). */
  suspendable: boolean;
}

/** The kinds `get` lists, in the order `get all` prints them. @internal */
export const KINDS: KindColumns[] = [
  {
    names: ['sources', 'gitrepositories', 'gitrepository', 'gitrepo'],
    kind: 'GitRepository',
    revision: {
      header: 'REVISION',
      value: o => shortRevision(o.status.artifact?.revision),
    },
    suspendable: true,
  },
  {
    names: [
      'images',
      'imagerepositories',
      'imagerepository',
      'repositories',
      'repository',
    ],
    kind: 'ImageRepository',
    revision: {
      header: 'LAST SCAN',
      value: o => o.status.lastScanResult?.scanTime ?? '',
    },
    suspendable: true,
  },
  {
    names: ['policies', 'imagepolicies', 'imagepolicy', 'policy'],
    kind: 'ImagePolicy',
    revision: {
      header: 'LATEST IMAGE',
      value: o =>
        o.status.latestRef
          ? `${o.status.latestRef.name}:${o.status.latestRef.tag}`
          : '',
    },
    suspendable: true,
  },
  {
    names: [
      'automations',
      'imageupdateautomations',
      'imageupdateautomation',
      'automation',
      'update',
    ],
    kind: 'ImageUpdateAutomation',
    revision: {
      header: 'LAST RUN',
      value: o => o.status.lastAutomationRunTime ?? '',
    },
    suspendable: true,
  },
  {
    names: [
      'providers',
      'resourcesetinputproviders',
      'resourcesetinputprovider',
      'rsip',
      'provider',
    ],
    kind: 'ResourceSetInputProvider',
    revision: {
      header: 'REVISION',
      value: o => shortDigest(o.status.lastExportedRevision),
    },
    suspendable: true,
  },
  {
    names: ['resourcesets', 'resourceset', 'rset'],
    kind: 'ResourceSet',
    revision: {
      header: 'REVISION',
      value: o => shortDigest(o.status.lastAppliedRevision),
    },
    suspendable: true,
  },
  {
    names: ['manifesterrors', 'manifesterror'],
    kind: 'ManifestError',
    suspendable: false,
  },
];

/** The kind a word names (`images`, `ImagePolicy`, `rset`, …), case-insensitively. @internal */
export function kindNamed(word: string): KindColumns | undefined {
  const lower = word.toLowerCase();
  return KINDS.find(
    k => k.kind.toLowerCase() === lower || k.names.includes(lower),
  );
}

/**
 * The table of one kind's objects, columns as `flux get`: [ENTITY] [NAMESPACE] NAME, the kind's
 * revision-like column, SUSPENDED, READY, MESSAGE. `qualifiedNames` prints `kind/name` (as
 * `flux get all` does).
 * @internal
 */
export function objectTable(
  kind: KindColumns,
  objects: AutomationObjectView[],
  options: { namespaces: boolean; entities: boolean; qualifiedNames?: boolean },
): string {
  const headers = [
    ...(options.entities ? ['ENTITY'] : []),
    ...(options.namespaces ? ['NAMESPACE'] : []),
    'NAME',
    ...(kind.revision ? [kind.revision.header] : []),
    'SUSPENDED',
    'READY',
    'MESSAGE',
  ];
  const rows = objects.map(o => {
    const ready = readyOf(o);
    return [
      ...(options.entities ? [o.entityRef ?? ''] : []),
      ...(options.namespaces ? [o.namespace] : []),
      options.qualifiedNames ? `${kind.kind.toLowerCase()}/${o.name}` : o.name,
      ...(kind.revision ? [kind.revision.value(o)] : []),
      bool(o.suspended),
      ready?.status ?? 'Unknown',
      ready?.message ??
        (o.status.conditions?.length ? '' : 'not reconciled yet'),
    ];
  });
  return formatTable(headers, rows);
}
