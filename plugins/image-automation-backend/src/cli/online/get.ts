/**
 * `image-automation get all|sources|images|policies|automations|providers|resourcesets` (tables
 * like `flux get`, or `-o json|yaml`) and `suspend|resume|reconcile KIND/NAME`.
 */

import type {
  AutomationObjectView,
  ObjectAction,
} from '@imageops/backstage-plugin-image-automation-common';
import { CliCommand, CliIO } from '../types';
import { CliError, CONNECTION_USAGE } from './client';
import {
  KINDS,
  kindNamed,
  objectTable,
  outputFormatOf,
  readyOf,
  serialize,
} from './format';
import {
  listObjects,
  objectPath,
  parseEntity,
  parseObjectRef,
} from './objects';
import { runOnline } from './run';

const SCOPE_USAGE =
  '      --entity REF        one entity, e.g. component:default/podinfo (default: every entity you may read)\n' +
  '  -n, --namespace NS      only objects in this namespace\n' +
  '  -A, --all-namespaces    every namespace (the default without -n)\n';

const getUsage = (what: string) =>
  [
    `usage: image-automation get ${what} [--entity REF] [-n NAMESPACE | -A] [-o table|json|yaml]\n`,
    SCOPE_USAGE,
    '  -o, --output FORMAT     table (default), json or yaml\n',
    CONNECTION_USAGE,
  ].join('');

const GET_OPTIONS = {
  entity: { type: 'string' },
  namespace: { type: 'string', short: 'n' },
  'all-namespaces': { type: 'boolean', short: 'A' },
  output: { type: 'string', short: 'o' },
} as const;

/** Reads the scope options of `get` and `tree`. @internal */
export function scopeOf(values: {
  entity?: string;
  namespace?: string;
  'all-namespaces'?: boolean;
}) {
  if (values.namespace !== undefined && values['all-namespaces']) {
    throw new CliError('-n and -A exclude each other', 2);
  }
  return {
    entity:
      values.entity === undefined ? undefined : parseEntity(values.entity),
    namespace: values['all-namespaces'] ? undefined : values.namespace,
  };
}

function getCommand(word: string, kinds: typeof KINDS): CliCommand {
  const usage = getUsage(word);
  const all = word === 'all';
  return {
    summary: all
      ? 'list every automation object of an entity or all entities'
      : `list the ${kinds[0].kind} objects`,
    run: (args, io) =>
      runOnline(
        io,
        usage,
        args,
        GET_OPTIONS,
        async ({ values, positionals }, client) => {
          if (positionals.length > 0)
            throw new CliError(`unexpected argument '${positionals[0]}'`, 2);
          const format = outputFormatOf(values.output);
          const scope = scopeOf(values);
          const objects = await listObjects(client, scope);
          const shown = kinds.map(kind => ({
            kind,
            items: objects.filter(o => o.kind === kind.kind),
          }));
          if (format !== 'table') {
            io.stdout.write(
              serialize(
                shown.flatMap(s => s.items),
                format,
              ),
            );
            return 0;
          }
          const sections = shown.filter(s => s.items.length > 0);
          if (sections.length === 0) {
            const where = `${scope.entity ? ` of ${values.entity}` : ''}${
              scope.namespace ? ` in namespace ${scope.namespace}` : ''
            }`;
            io.stderr.write(
              `✗ no ${
                all ? 'automation objects' : `${kinds[0].kind} objects`
              } found${where}\n`,
            );
            return 0;
          }
          const columns = {
            namespaces: scope.namespace === undefined,
            entities: !scope.entity,
            qualifiedNames: all,
          };
          io.stdout.write(
            sections.map(s => objectTable(s.kind, s.items, columns)).join('\n'),
          );
          return 0;
        },
      ),
  };
}

const ACTION_VERBS: Record<ObjectAction, [string, string]> = {
  suspend: ['suspending', 'suspended'],
  resume: ['resuming', 'resumed'],
  reconcile: ['annotating', 'reconcile requested'],
};

function actionCommand(action: ObjectAction): CliCommand {
  const usage = [
    `usage: image-automation ${action} KIND/NAME [-n NAMESPACE] [-o json|yaml]\n`,
    '  KIND/NAME              e.g. ImageRepository/podinfo or images/podinfo; KIND/NAMESPACE/NAME also works\n',
    '  -n, --namespace NS     the object\'s namespace (default "flux-system", as flux)\n',
    '  -o, --output FORMAT    print the object after the change as json or yaml\n',
    CONNECTION_USAGE,
  ].join('');
  const summaries: Record<ObjectAction, string> = {
    suspend: "stop an automation object's schedule (as flux suspend)",
    resume: "start an automation object's schedule again (as flux resume)",
    reconcile:
      'ask for a reconcile of an automation object on the next pass (as flux reconcile)',
  };
  return {
    summary: summaries[action],
    run: (args, io: CliIO) =>
      runOnline(
        io,
        usage,
        args,
        {
          namespace: { type: 'string', short: 'n' },
          output: { type: 'string', short: 'o' },
        } as const,
        async ({ values, positionals }, client) => {
          if (positionals.length !== 1)
            throw new CliError('expected exactly one object, KIND/NAME', 2);
          const format =
            values.output === undefined
              ? undefined
              : outputFormatOf(values.output);
          const ref = parseObjectRef(positionals[0], values.namespace, word => {
            const kind = kindNamed(word);
            return kind?.suspendable ? kind.kind : undefined;
          });
          const [doing, done] = ACTION_VERBS[action];
          io.stderr.write(`► ${doing} ${ref.id}\n`);
          const view = await client.post<AutomationObjectView>(
            `${objectPath(ref)}/${action}`,
            ref.id,
          );
          if (action === 'reconcile') {
            io.stderr.write(
              `✔ ${ref.id} ${done} at ${
                view.reconcileRequestedAt ?? 'now'
              }; it runs on the backend's next pass\n`,
            );
          } else {
            io.stderr.write(`✔ ${ref.id} ${done}\n`);
          }
          if (format && format !== 'table')
            io.stdout.write(serialize(view, format));
          const ready = readyOf(view);
          if (action === 'resume' && ready?.status === 'False')
            io.stderr.write(`✗ ${ref.id} is not ready: ${ready.message}\n`);
          return 0;
        },
      ),
  };
}

/** The `get` commands: one per kind word, and `get all`. @internal */
export const getCommands: Record<string, CliCommand> = {
  'get all': getCommand('all', KINDS),
  ...Object.fromEntries(
    KINDS.filter(k => k.suspendable).map(kind => [
      `get ${kind.names[0]}`,
      getCommand(kind.names[0], [kind]),
    ]),
  ),
};

/** `suspend`, `resume`, `reconcile`. @internal */
export const actionCommands: Record<string, CliCommand> = {
  suspend: actionCommand('suspend'),
  resume: actionCommand('resume'),
  reconcile: actionCommand('reconcile'),
};
