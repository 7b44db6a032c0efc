/**
 * `image-automation promotions list|approve|reject|pin|unpin`: the promotion API from a terminal.
 */

import type {
  FleetView,
  Page,
  PromotionPin,
  PromotionVersion,
  PromotionView,
} from '@imageops/backstage-plugin-image-automation-common';
import { CliCommand } from '../types';
import { CliError, CONNECTION_USAGE } from './client';
import { formatTable, outputFormatOf, serialize } from './format';
import { entityPath, entityRefString, parseEntity } from './objects';
import { runOnline } from './run';

/** `1.5.0` or `1.5.0@sha256:0123456789ab`. @internal */
export function versionText(v: PromotionVersion | undefined): string {
  if (!v) return '';
  return v.digest ? `${v.tag}@${v.digest.slice(0, 19)}` : v.tag;
}

/** The promotions table: ID, ENTITY (across entities), SUBJECT, TARGET, FROM, TO, STATE, GATES. @internal */
export function promotionTable(
  items: PromotionView[],
  options: { entities: boolean },
): string {
  const headers = [
    'ID',
    ...(options.entities ? ['ENTITY'] : []),
    'SUBJECT',
    'TARGET',
    'FROM',
    'TO',
    'STATE',
    'GATES',
  ];
  const rows = items.map(p => [
    p.id,
    ...(options.entities ? [p.entityRef ?? ''] : []),
    p.subject,
    p.target.id,
    versionText(p.from),
    versionText(p.to),
    p.state,
    p.gates
      .filter(g => g.state !== 'passed')
      .map(g => g.summary)
      .join('; ') || (p.error ? `error: ${p.error}` : '-'),
  ]);
  return formatTable(headers, rows);
}

const LIST_USAGE = [
  'usage: image-automation promotions list [--entity REF] [--state STATE[,STATE…]] [-o table|json|yaml]\n',
  "      --entity REF        one entity's promotions, newest first (default: across the catalog, the\n",
  '                          open promotions you may act on, as the fleet page lists them)\n',
  '      --state STATES      pending, approved, rejected, applying, applied, failed, superseded\n',
  '  -o, --output FORMAT     table (default), json or yaml\n',
  CONNECTION_USAGE,
].join('');

const list: CliCommand = {
  summary: 'list promotions of an entity, or every open one',
  run: (args, io) =>
    runOnline(
      io,
      LIST_USAGE,
      args,
      {
        entity: { type: 'string' },
        state: { type: 'string' },
        output: { type: 'string', short: 'o' },
      } as const,
      async ({ values, positionals }, client) => {
        if (positionals.length > 0)
          throw new CliError(`unexpected argument '${positionals[0]}'`, 2);
        const format = outputFormatOf(values.output);
        let items: PromotionView[];
        if (values.entity !== undefined) {
          const entity = parseEntity(values.entity);
          items = [];
          let cursor: string | undefined;
          do {
            const query = [
              ...(values.state
                ? [`state=${encodeURIComponent(values.state)}`]
                : []),
              ...(cursor ? [`cursor=${encodeURIComponent(cursor)}`] : []),
            ].join('&');
            const page = await client.get<Page<PromotionView>>(
              `${entityPath(entity)}/promotions${query ? `?${query}` : ''}`,
              `entity ${entityRefString(entity)}`,
            );
            items.push(...page.items);
            cursor = page.nextCursor;
          } while (cursor);
        } else {
          const states = values.state
            ?.split(',')
            .map(s => s.trim())
            .filter(Boolean);
          const fleet = await client.get<FleetView>('/fleet', 'the fleet');
          items = fleet.promotions.filter(
            p => !states || states.includes(p.state),
          );
        }
        if (format !== 'table') {
          io.stdout.write(serialize(items, format));
        } else if (items.length === 0) {
          io.stderr.write(
            `✗ no promotions found${
              values.entity ? ` for ${values.entity}` : ''
            }\n`,
          );
        } else {
          io.stdout.write(
            promotionTable(items, { entities: values.entity === undefined }),
          );
        }
        return 0;
      },
    ),
};

function decision(verb: 'approve' | 'reject'): CliCommand {
  const usage =
    verb === 'approve'
      ? 'usage: image-automation promotions approve ID [--comment TEXT] [-o json|yaml]\n' +
        '      --comment TEXT      recorded with your vote\n'
      : 'usage: image-automation promotions reject ID --reason TEXT [-o json|yaml]\n' +
        '      --reason TEXT       why (required)\n';
  return {
    summary:
      verb === 'approve'
        ? 'approve a pending promotion'
        : 'reject a pending promotion',
    run: (args, io) =>
      runOnline(
        io,
        `${usage}  -o, --output FORMAT     print the promotion after the decision as json or yaml\n${CONNECTION_USAGE}`,
        args,
        {
          comment: { type: 'string' },
          reason: { type: 'string' },
          output: { type: 'string', short: 'o' },
        } as const,
        async ({ values, positionals }, client) => {
          if (positionals.length !== 1)
            throw new CliError('expected exactly one promotion id', 2);
          const format =
            values.output === undefined
              ? undefined
              : outputFormatOf(values.output);
          const id = positionals[0];
          let body: Record<string, string>;
          if (verb === 'approve') {
            if (values.reason !== undefined)
              throw new CliError('approve takes --comment, not --reason', 2);
            body =
              values.comment === undefined ? {} : { comment: values.comment };
          } else {
            if (!values.reason?.trim())
              throw new CliError('--reason is required', 2);
            body = { reason: values.reason };
          }
          const view = await client.post<PromotionView>(
            `/promotions/${encodeURIComponent(id)}/${verb}`,
            `promotion ${id}`,
            body,
          );
          const gates =
            view.state === 'pending'
              ? view.gates.filter(g => g.state !== 'passed').map(g => g.summary)
              : [];
          io.stderr.write(
            `✔ ${verb === 'approve' ? 'approved' : 'rejected'} ${
              view.subject
            } ${versionText(view.from) || '(none)'} → ${versionText(
              view.to,
            )} on ${view.target.id}: ${view.state}${
              gates.length ? ` (waiting: ${gates.join('; ')})` : ''
            }\n`,
          );
          if (format && format !== 'table')
            io.stdout.write(serialize(view, format));
          return 0;
        },
      ),
  };
}

const PIN_USAGE = [
  'usage: image-automation promotions pin (ID | --target TARGET --subject SUBJECT) [--tag TAG [--digest D]] --reason TEXT [--expires-at TIME]\n',
  '  ID                      a promotion: pins its subject on its target (at the version the target\n',
  '                          carries, the promotion\'s "from", unless --tag says otherwise)\n',
  '      --target TARGET     a promotion target id, e.g. git:ImageUpdateAutomation/flux-system/podinfo\n',
  '      --subject SUBJECT   e.g. ImagePolicy/flux-system/podinfo\n',
  '      --tag TAG           the version to hold (required with --target)\n',
  '      --digest DIGEST     sha256:… of that version\n',
  '      --reason TEXT       why (required)\n',
  '      --expires-at TIME   an RFC 3339 time at which the pin lifts itself\n',
  '  -o, --output FORMAT     print the pin as json or yaml\n',
  CONNECTION_USAGE,
].join('');

const UNPIN_USAGE = [
  'usage: image-automation promotions unpin (ID | --target TARGET --subject SUBJECT)\n',
  CONNECTION_USAGE,
].join('');

/** The target and subject a pin is about: from a promotion id, or given. */
async function pinSubject(
  client: Parameters<Parameters<typeof runOnline>[4]>[1],
  positionals: string[],
  values: { target?: string; subject?: string },
): Promise<{ targetId: string; subject: string; promotion?: PromotionView }> {
  if (positionals.length > 1)
    throw new CliError(`unexpected argument '${positionals[1]}'`, 2);
  if (positionals.length === 1) {
    if (values.target !== undefined || values.subject !== undefined) {
      throw new CliError(
        'give a promotion id or --target and --subject, not both',
        2,
      );
    }
    const id = positionals[0];
    const promotion = await client.get<PromotionView>(
      `/promotions/${encodeURIComponent(id)}`,
      `promotion ${id}`,
    );
    return {
      targetId: promotion.target.id,
      subject: promotion.subject,
      promotion,
    };
  }
  if (!values.target || !values.subject)
    throw new CliError(
      'give a promotion id, or both --target and --subject',
      2,
    );
  return { targetId: values.target, subject: values.subject };
}

const pin: CliCommand = {
  summary: 'hold a subject on a target at a version',
  run: (args, io) =>
    runOnline(
      io,
      PIN_USAGE,
      args,
      {
        target: { type: 'string' },
        subject: { type: 'string' },
        tag: { type: 'string' },
        digest: { type: 'string' },
        reason: { type: 'string' },
        'expires-at': { type: 'string' },
        output: { type: 'string', short: 'o' },
      } as const,
      async ({ values, positionals }, client) => {
        if (!values.reason?.trim())
          throw new CliError('--reason is required', 2);
        const format =
          values.output === undefined
            ? undefined
            : outputFormatOf(values.output);
        const { targetId, subject, promotion } = await pinSubject(
          client,
          positionals,
          values,
        );
        let version: PromotionVersion;
        if (values.tag) {
          version = {
            tag: values.tag,
            ...(values.digest ? { digest: values.digest } : {}),
          };
        } else if (values.digest) {
          throw new CliError('--digest needs --tag', 2);
        } else if (promotion?.from) {
          version = {
            tag: promotion.from.tag,
            ...(promotion.from.digest ? { digest: promotion.from.digest } : {}),
          };
        } else {
          throw new CliError(
            promotion
              ? `promotion ${promotion.id} has no "from" version to hold; pass --tag`
              : '--tag is required with --target',
            2,
          );
        }
        const image = promotion?.from?.image ?? promotion?.to.image;
        const body = {
          targetId,
          subject,
          version: { ...version, ...(image ? { image } : {}) },
          reason: values.reason,
          ...(values['expires-at'] ? { expiresAt: values['expires-at'] } : {}),
        };
        const created = await client.post<PromotionPin>(
          '/pins',
          `target ${targetId}`,
          body,
        );
        io.stderr.write(
          `✔ pinned ${created.subject} on ${created.targetId} at ${versionText(
            created.version,
          )}${created.expiresAt ? ` until ${created.expiresAt}` : ''}\n`,
        );
        if (format && format !== 'table')
          io.stdout.write(serialize(created, format));
        return 0;
      },
    ),
};

const unpin: CliCommand = {
  summary: 'lift a pin',
  run: (args, io) =>
    runOnline(
      io,
      UNPIN_USAGE,
      args,
      { target: { type: 'string' }, subject: { type: 'string' } } as const,
      async ({ values, positionals }, client) => {
        const { targetId, subject } = await pinSubject(
          client,
          positionals,
          values,
        );
        await client.request(
          'DELETE',
          `/pins?targetId=${encodeURIComponent(
            targetId,
          )}&subject=${encodeURIComponent(subject)}`,
          { what: `a pin of ${subject} on ${targetId}` },
        );
        io.stderr.write(`✔ unpinned ${subject} on ${targetId}\n`);
        return 0;
      },
    ),
};

/** The `promotions` commands. @internal */
export const promotionCommands: Record<string, CliCommand> = {
  'promotions list': list,
  'promotions approve': decision('approve'),
  'promotions reject': decision('reject'),
  'promotions pin': pin,
  'promotions unpin': unpin,
};
