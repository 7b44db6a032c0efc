/**
 * Entry point of the `image-automation` command-line tool.
 *
 * Each command is a function from its arguments to an exit code; it writes to the given
 * streams only, so tests can run commands in-process.
 *
 * @packageDocumentation
 */

import { CliCommand, CliIO, defaultIO } from './types';

/**
 * Where each command lives: one module per area (`src/cli/<area>.ts`, `src/cli/online/*.ts`),
 * each exporting its commands by name. An area is loaded only when one of its commands runs, so
 * a command starts without initialising the others (the template engine, YAML, HTTP client, …).
 */
/* eslint-disable @typescript-eslint/no-require-imports -- required on demand, see above */
const AREAS = {
  policy: () =>
    (require('./policy') as typeof import('./policy')).policyCommands,
  image: () => (require('./image') as typeof import('./image')).imageCommands,
  template: () =>
    (require('./template') as typeof import('./template')).templateCommands,
  setters: () =>
    (require('./setters') as typeof import('./setters')).setterCommands,
  get: () => {
    const m = require('./online/get') as typeof import('./online/get');
    return { ...m.getCommands, ...m.actionCommands };
  },
  promotions: () =>
    (require('./online/promotions') as typeof import('./online/promotions'))
      .promotionCommands,
  tree: () =>
    (require('./online/tree') as typeof import('./online/tree')).treeCommands,
} satisfies Record<string, () => Record<string, CliCommand>>;
/* eslint-enable @typescript-eslint/no-require-imports */

type Area = keyof typeof AREAS;

/**
 * Every command, its area and its one-line summary (for the usage; a test checks these are the
 * modules' own). `online`: talks to a running backend (`--backend-url`, `BACKSTAGE_TOKEN`).
 * @internal
 */
export const COMMANDS: Record<
  string,
  { area: Area; summary: string; online?: true }
> = {
  'policy select': {
    area: 'policy',
    summary: 'select the latest tag with an ImagePolicy, as Flux does',
  },
  'rsip tags': {
    area: 'policy',
    summary:
      'filter and order tags with a ResourceSetInputProvider spec.filter',
  },
  'image canonical': {
    area: 'image',
    summary:
      "print an image name's Flux canonical name, registry, repository and scheme",
  },
  'build rset': {
    area: 'template',
    summary: 'render a ResourceSet like `flux-operator build rset`',
  },
  'template render': {
    area: 'template',
    summary: 'render a Go template against a JSON inputs map',
  },
  'setters apply': {
    area: 'setters',
    summary:
      'apply image policy markers to a directory, as an ImageUpdateAutomation would',
  },
  'get all': {
    area: 'get',
    online: true,
    summary: 'list every automation object of an entity or all entities',
  },
  'get sources': {
    area: 'get',
    online: true,
    summary: 'list the GitRepository objects',
  },
  'get images': {
    area: 'get',
    online: true,
    summary: 'list the ImageRepository objects',
  },
  'get policies': {
    area: 'get',
    online: true,
    summary: 'list the ImagePolicy objects',
  },
  'get automations': {
    area: 'get',
    online: true,
    summary: 'list the ImageUpdateAutomation objects',
  },
  'get providers': {
    area: 'get',
    online: true,
    summary: 'list the ResourceSetInputProvider objects',
  },
  'get resourcesets': {
    area: 'get',
    online: true,
    summary: 'list the ResourceSet objects',
  },
  suspend: {
    area: 'get',
    online: true,
    summary: "stop an automation object's schedule (as flux suspend)",
  },
  resume: {
    area: 'get',
    online: true,
    summary: "start an automation object's schedule again (as flux resume)",
  },
  reconcile: {
    area: 'get',
    online: true,
    summary:
      'ask for a reconcile of an automation object on the next pass (as flux reconcile)',
  },
  'promotions list': {
    area: 'promotions',
    online: true,
    summary: 'list promotions of an entity, or every open one',
  },
  'promotions approve': {
    area: 'promotions',
    online: true,
    summary: 'approve a pending promotion',
  },
  'promotions reject': {
    area: 'promotions',
    online: true,
    summary: 'reject a pending promotion',
  },
  'promotions pin': {
    area: 'promotions',
    online: true,
    summary: 'hold a subject on a target at a version',
  },
  'promotions unpin': {
    area: 'promotions',
    online: true,
    summary: 'lift a pin',
  },
  tree: {
    area: 'tree',
    online: true,
    summary:
      "an entity's automation objects and what they produced (as flux tree)",
  },
};

/** The commands of every area, loaded (for tests). @internal */
export async function loadAllCommands(): Promise<Record<string, CliCommand>> {
  return Object.assign({}, ...Object.values(AREAS).map(load => load()));
}

function usage(): string {
  const list = (online: boolean) =>
    Object.keys(COMMANDS)
      .filter(name => Boolean(COMMANDS[name].online) === online)
      .sort()
      .map(name => `  ${name.padEnd(22)} ${COMMANDS[name].summary}`);
  return [
    'usage: image-automation <command> [options]',
    '',
    'offline commands:',
    ...list(false),
    '',
    'commands for a running backend (--backend-url URL, BACKSTAGE_TOKEN):',
    ...list(true),
    '',
  ].join('\n');
}

/**
 * Runs the tool with the given arguments and returns the exit code.
 * @internal
 */
export async function main(
  argv: string[],
  io: CliIO = defaultIO(),
): Promise<number> {
  for (const words of [2, 1]) {
    const name = argv.slice(0, words).join(' ');
    const entry = Object.prototype.hasOwnProperty.call(COMMANDS, name)
      ? COMMANDS[name]
      : undefined;
    if (entry && argv.length >= words) {
      const command = AREAS[entry.area]()[name];
      return command.run(argv.slice(words), io);
    }
  }
  io.stderr.write(usage());
  return argv.length === 0 || argv[0] === '--help' ? 0 : 2;
}
