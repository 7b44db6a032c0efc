import express from 'express';
import Router from 'express-promise-router';
import { AuditorService, HttpAuthService } from '@backstage/backend-plugin-api';
import { InputError } from '@backstage/errors';
import { JsonObject } from '@backstage/types';
import {
  ObjectAction,
  objectId,
  PromotionState,
  PromotionVersion,
} from '@imageops/backstage-plugin-image-automation-common';
import { AuthorizedPromotionService } from './AuthorizedPromotionService';
import { requiredText } from './DefaultPromotionService';
import { FleetService, parseFleetFilter } from './FleetService';
import { HealthCheck } from './HealthCheck';
import { ObjectService } from './ObjectService';
import { PromotionPreviewService } from './PromotionPreviewService';
import { TimelineService, parseTimelineQuery } from './TimelineService';
import { VersionsService } from './VersionsService';

const PROMOTION_STATES: PromotionState[] = [
  'pending',
  'approved',
  'rejected',
  'applying',
  'applied',
  'failed',
  'superseded',
];

function statesOf(
  query: express.Request['query'],
): PromotionState[] | undefined {
  if (query.state === undefined) return undefined;
  const states = String(query.state)
    .split(',')
    .map(s => s.trim())
    .filter(Boolean);
  const unknown = states.filter(
    s => !PROMOTION_STATES.includes(s as PromotionState),
  );
  if (unknown.length > 0) {
    throw new InputError(
      `unknown promotion state '${unknown[0]}'; known: ${PROMOTION_STATES.join(
        ', ',
      )}`,
    );
  }
  return states as PromotionState[];
}

function versionOf(value: unknown): PromotionVersion {
  const v = value as Partial<PromotionVersion> | undefined;
  if (!v || typeof v !== 'object' || typeof v.tag !== 'string' || !v.tag) {
    throw new InputError('version.tag is required');
  }
  for (const key of ['digest', 'image'] as const) {
    if (v[key] !== undefined && typeof v[key] !== 'string')
      throw new InputError(`version.${key} must be a string`);
  }
  if (v.digest !== undefined && !/^sha256:[0-9a-f]{64}$/.test(v.digest)) {
    throw new InputError(
      `version.digest must be sha256:<64 hex digits>, got '${v.digest}'`,
    );
  }
  return {
    tag: v.tag,
    ...(v.digest ? { digest: v.digest } : {}),
    ...(v.image ? { image: v.image } : {}),
  };
}

function pageOf(query: express.Request['query']) {
  const limit = query.limit === undefined ? undefined : Number(query.limit);
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) {
    throw new InputError(
      `limit must be a positive integer, got '${query.limit}'`,
    );
  }
  return {
    limit,
    cursor: typeof query.cursor === 'string' ? query.cursor : undefined,
  };
}

/**
 * The HTTP API under `/api/image-automation`. HTTP only: permissions and domain logic live in
 * the ObjectService it is given.
 * @internal
 */
export async function createRouter(options: {
  httpAuth: HttpAuthService;
  objects: ObjectService;
  promotions?: AuthorizedPromotionService;
  previews?: PromotionPreviewService;
  versions?: VersionsService;
  timeline?: TimelineService;
  fleet?: FleetService;
  auditor?: AuditorService;
  health?: HealthCheck;
}): Promise<express.Router> {
  const {
    httpAuth,
    objects,
    promotions,
    previews,
    versions,
    timeline,
    fleet,
    auditor,
    health,
  } = options;
  const router = Router();
  router.use(express.json());

  /** Runs a decision under an audit event: who, on what, and whether it succeeded. */
  async function audited<T>(
    req: express.Request,
    eventId: string,
    meta: JsonObject,
    fn: () => Promise<T>,
  ): Promise<T> {
    const event = await auditor?.createEvent({
      eventId,
      severityLevel: 'medium',
      request: req,
      meta,
    });
    try {
      const result = await fn();
      await event?.success();
      return result;
    } catch (error) {
      await event?.fail({ error: error as Error });
      throw error;
    }
  }

  const entityRefOf = (req: express.Request) =>
    `${req.params.kind}:${req.params.namespace}/${req.params.name}`.toLocaleLowerCase(
      'en-US',
    );

  router.get('/entities/:kind/:namespace/:name/objects', async (req, res) => {
    const { kind, namespace, name } = req.params;
    const entityRef = `${kind}:${namespace}/${name}`.toLocaleLowerCase('en-US');
    const credentials = await httpAuth.credentials(req);
    res.json({ items: await objects.listForEntity(entityRef, credentials) });
  });

  const object = '/objects/:kind/:namespace/:name';
  const idOf = (req: express.Request) =>
    objectId(req.params.kind, req.params.namespace, req.params.name);

  router.get(object, async (req, res) => {
    res.json(await objects.get(idOf(req), await httpAuth.credentials(req)));
  });

  router.get(`${object}/scans`, async (req, res) => {
    res.json(
      await objects.listScans(
        idOf(req),
        pageOf(req.query),
        await httpAuth.credentials(req),
      ),
    );
  });

  router.get(
    '/objects/ImagePolicy/:namespace/:name/explain',
    async (req, res) => {
      const id = objectId('ImagePolicy', req.params.namespace, req.params.name);
      res.json(
        await objects.explainPolicy(id, await httpAuth.credentials(req)),
      );
    },
  );

  router.get(
    '/objects/ResourceSet/:namespace/:name/inventory',
    async (req, res) => {
      const id = objectId('ResourceSet', req.params.namespace, req.params.name);
      res.json(
        await objects.resourceSetInventory(id, await httpAuth.credentials(req)),
      );
    },
  );

  router.post('/policy-preview', async (req, res) => {
    const body = req.body ?? {};
    if (
      typeof body.namespace !== 'string' ||
      !body.namespace ||
      typeof body.spec !== 'object' ||
      !body.spec
    ) {
      throw new InputError(
        'expected a JSON body { "namespace": "…", "spec": { …ImagePolicy spec… } }',
      );
    }
    res.json(
      await objects.previewPolicy(body, await httpAuth.credentials(req)),
    );
  });

  router.get(`${object}/events`, async (req, res) => {
    res.json(
      await objects.listEvents(
        idOf(req),
        pageOf(req.query),
        await httpAuth.credentials(req),
      ),
    );
  });

  router.get(`${object}/tags`, async (req, res) => {
    const page = {
      ...pageOf(req.query),
      search:
        typeof req.query.search === 'string' ? req.query.search : undefined,
      includeGone: req.query.includeGone === 'true',
    };
    res.json(
      await objects.listTags(idOf(req), page, await httpAuth.credentials(req)),
    );
  });

  router.post(
    `${object}/:action(suspend|resume|reconcile)`,
    async (req, res) => {
      const credentials = await httpAuth.credentials(req, {
        allow: ['user', 'service'],
      });
      res.json(
        await objects.act(
          idOf(req),
          req.params.action as ObjectAction,
          credentials,
        ),
      );
    },
  );

  if (promotions) {
    router.get(
      '/entities/:kind/:namespace/:name/promotions',
      async (req, res) => {
        const filter = {
          entityRef: entityRefOf(req),
          states: statesOf(req.query),
          ...pageOf(req.query),
        };
        res.json(
          await promotions.list(filter, await httpAuth.credentials(req)),
        );
      },
    );

    router.get('/promotions/:id', async (req, res) => {
      res.json(
        await promotions.get(req.params.id, await httpAuth.credentials(req)),
      );
    });

    const decision = (
      path: string,
      eventId: string,
      run: (id: string, body: any, credentials: any) => Promise<unknown>,
    ) =>
      router.post(`/promotions/:id/${path}`, async (req, res) => {
        const credentials = await httpAuth.credentials(req, {
          allow: ['user', 'service'],
        });
        const body = req.body ?? {};
        res.json(
          await audited(req, eventId, { promotionId: req.params.id }, () =>
            run(req.params.id, body, credentials),
          ),
        );
      });
    decision('approve', 'promotion-approve', (id, body, credentials) =>
      promotions.approve(
        id,
        body.comment === undefined
          ? undefined
          : requiredText(body.comment, 'comment'),
        credentials,
      ),
    );
    decision('reject', 'promotion-reject', (id, body, credentials) =>
      promotions.reject(id, requiredText(body.reason, 'reason'), credentials),
    );
    decision('promote', 'promotion-promote-now', (id, body, credentials) =>
      promotions.promoteNow(
        id,
        requiredText(body.justification, 'justification'),
        credentials,
      ),
    );
    decision('rollback', 'promotion-rollback', (id, body, credentials) =>
      promotions.rollback(id, requiredText(body.reason, 'reason'), credentials),
    );
    if (previews) {
      router.post('/promotions/:id/preview', async (req, res) => {
        res.json(
          await previews.preview(
            req.params.id,
            await httpAuth.credentials(req),
          ),
        );
      });
    }

    router.post('/pins', async (req, res) => {
      const credentials = await httpAuth.credentials(req, {
        allow: ['user', 'service'],
      });
      const body = req.body ?? {};
      const input = {
        targetId: requiredText(body.targetId, 'targetId'),
        subject: requiredText(body.subject, 'subject'),
        version: versionOf(body.version),
        reason: requiredText(body.reason, 'reason'),
        ...(body.expiresAt !== undefined
          ? { expiresAt: requiredText(body.expiresAt, 'expiresAt') }
          : {}),
      };
      const meta = {
        targetId: input.targetId,
        subject: input.subject,
        tag: input.version.tag,
      };
      res.json(
        await audited(req, 'promotion-pin', meta, () =>
          promotions.pin(input, credentials),
        ),
      );
    });

    router.delete('/pins', async (req, res) => {
      const credentials = await httpAuth.credentials(req, {
        allow: ['user', 'service'],
      });
      const targetId = requiredText(req.query.targetId, 'targetId');
      const subject = requiredText(req.query.subject, 'subject');
      await audited(req, 'promotion-unpin', { targetId, subject }, () =>
        promotions.unpin(targetId, subject, credentials),
      );
      res.status(204).end();
    });
  }

  if (versions) {
    router.get(
      '/entities/:kind/:namespace/:name/versions',
      async (req, res) => {
        res.json(
          await versions.versions(
            entityRefOf(req),
            await httpAuth.credentials(req),
          ),
        );
      },
    );
  }

  if (timeline) {
    router.get(
      '/entities/:kind/:namespace/:name/timeline',
      async (req, res) => {
        const credentials = await httpAuth.credentials(req);
        res.json(
          await timeline.timeline(
            entityRefOf(req),
            parseTimelineQuery(req.query),
            credentials,
          ),
        );
      },
    );
  }

  if (fleet) {
    router.get('/fleet', async (req, res) => {
      const filter = parseFleetFilter(req.query);
      res.json(await fleet.fleet(filter, await httpAuth.credentials(req)));
    });
  }

  if (health) {
    // Any signed-in user or service (a monitor with a static token): 200 when ready, else 503.
    router.get('/health', async (req, res) => {
      await httpAuth.credentials(req, { allow: ['user', 'service'] });
      const report = await health.check();
      res.status(report.status === 'ok' ? 200 : 503).json(report);
    });
  }

  return router;
}
