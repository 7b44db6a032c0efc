import express from 'express';
import Router from 'express-promise-router';
import { HttpAuthService } from '@backstage/backend-plugin-api';
import { InputError } from '@backstage/errors';
import { ObjectAction } from '@imageops/backstage-plugin-image-automation-common';
import { objectId } from '../store/DatabaseObjectStore';
import { ObjectService } from './ObjectService';

function pageOf(query: express.Request['query']) {
  const limit = query.limit === undefined ? undefined : Number(query.limit);
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) {
    throw new InputError(`limit must be a positive integer, got '${query.limit}'`);
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
}): Promise<express.Router> {
  const { httpAuth, objects } = options;
  const router = Router();
  router.use(express.json());

  router.get('/entities/:kind/:namespace/:name/objects', async (req, res) => {
    const { kind, namespace, name } = req.params;
    const entityRef = `${kind}:${namespace}/${name}`.toLocaleLowerCase('en-US');
    const credentials = await httpAuth.credentials(req);
    res.json({ items: await objects.listForEntity(entityRef, credentials) });
  });

  const object = '/objects/:kind/:namespace/:name';
  const idOf = (req: express.Request) => objectId(req.params.kind, req.params.namespace, req.params.name);

  router.get(object, async (req, res) => {
    res.json(await objects.get(idOf(req), await httpAuth.credentials(req)));
  });

  router.get(`${object}/scans`, async (req, res) => {
    res.json(await objects.listScans(idOf(req), pageOf(req.query), await httpAuth.credentials(req)));
  });

  router.get('/objects/ImagePolicy/:namespace/:name/explain', async (req, res) => {
    const id = objectId('ImagePolicy', req.params.namespace, req.params.name);
    res.json(await objects.explainPolicy(id, await httpAuth.credentials(req)));
  });

  router.post('/policy-preview', async (req, res) => {
    const body = req.body ?? {};
    if (typeof body.namespace !== 'string' || !body.namespace || typeof body.spec !== 'object' || !body.spec) {
      throw new InputError('expected a JSON body { "namespace": "…", "spec": { …ImagePolicy spec… } }');
    }
    res.json(await objects.previewPolicy(body, await httpAuth.credentials(req)));
  });

  router.get(`${object}/events`, async (req, res) => {
    res.json(await objects.listEvents(idOf(req), pageOf(req.query), await httpAuth.credentials(req)));
  });

  router.get(`${object}/tags`, async (req, res) => {
    const page = {
      ...pageOf(req.query),
      search: typeof req.query.search === 'string' ? req.query.search : undefined,
      includeGone: req.query.includeGone === 'true',
    };
    res.json(await objects.listTags(idOf(req), page, await httpAuth.credentials(req)));
  });

  router.post(`${object}/:action(suspend|resume|reconcile)`, async (req, res) => {
    const credentials = await httpAuth.credentials(req, { allow: ['user', 'service'] });
    res.json(await objects.act(idOf(req), req.params.action as ObjectAction, credentials));
  });

  return router;
}
