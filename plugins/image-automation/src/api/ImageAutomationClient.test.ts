/**
 * @jest-environment node
 */
import { ResponseError } from '@backstage/errors';
import { ImageAutomationClient } from './ImageAutomationClient';

interface RecordedRequest {
  method: string;
  url: string;
  body?: unknown;
}

/** A fetch that answers from a table of routes, as the backend would, and records each request. */
function fakeFetch(routes: Record<string, () => Response>) {
  const requests: RecordedRequest[] = [];
  const fetchApi = {
    fetch: async (input: RequestInfo | URL, init?: RequestInit) => {
      const method = init?.method ?? 'GET';
      const url = String(input);
      requests.push({
        method,
        url,
        ...(init?.body ? { body: JSON.parse(String(init.body)) } : {}),
      });
      const route = routes[`${method} ${url}`];
      if (!route) {
        return errorJson(404, method, url, {
          name: 'NotFoundError',
          message: `no route ${url}`,
        });
      }
      return route();
    },
  };
  return { fetchApi, requests };
}

/** An error response in the shape Backstage's error handler middleware writes. */
function errorJson(
  status: number,
  method: string,
  url: string,
  error: { name: string; message: string },
): Response {
  return json(status, {
    error,
    request: { method, url },
    response: { statusCode: status },
  });
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json' },
  });
}

const base = 'http://localhost:7007/api/image-automation';
const discoveryApi = {
  getBaseUrl: async (pluginId: string) =>
    `http://localhost:7007/api/${pluginId}`,
};

describe('ImageAutomationClient', () => {
  it('lists the objects of an entity, escaping each path segment', async () => {
    const { fetchApi, requests } = fakeFetch({
      [`GET ${base}/entities/Component/default/my%20app/objects`]: () =>
        json(200, { items: [{ id: 'ImageRepository/default/app' }] }),
    });
    const client = new ImageAutomationClient({ discoveryApi, fetchApi });

    await expect(
      client.getEntityObjects({
        kind: 'Component',
        namespace: 'default',
        name: 'my app',
      }),
    ).resolves.toEqual([{ id: 'ImageRepository/default/app' }]);
    expect(requests).toEqual([
      {
        method: 'GET',
        url: `${base}/entities/Component/default/my%20app/objects`,
      },
    ]);
  });

  it('pages through scans with limit and cursor', async () => {
    const { fetchApi } = fakeFetch({
      [`GET ${base}/objects/ImageRepository/default/podinfo/scans?limit=20`]:
        () => json(200, { items: [{ id: 2 }], nextCursor: 'c1' }),
      [`GET ${base}/objects/ImageRepository/default/podinfo/scans?limit=20&cursor=c1`]:
        () => json(200, { items: [{ id: 1 }] }),
    });
    const client = new ImageAutomationClient({ discoveryApi, fetchApi });
    const repository = {
      kind: 'ImageRepository',
      namespace: 'default',
      name: 'podinfo',
    };

    const first = await client.getScans(repository, { limit: 20 });
    expect(first).toEqual({ items: [{ id: 2 }], nextCursor: 'c1' });
    const second = await client.getScans(repository, {
      limit: 20,
      cursor: first.nextCursor,
    });
    expect(second).toEqual({ items: [{ id: 1 }] });
  });

  it("pages through an object's events with limit and cursor, escaping the path", async () => {
    const event = (id: number) => ({
      id,
      objectId: 'ImagePolicy/flux system/podinfo',
      time: '2026-11-22T01:00:00Z',
      type: 'Normal',
      reason: 'Succeeded',
      message: `event ${id}`,
    });
    const { fetchApi, requests } = fakeFetch({
      [`GET ${base}/objects/ImagePolicy/flux%20system/podinfo/events?limit=2`]:
        () => json(200, { items: [event(9), event(8)], nextCursor: '8' }),
      [`GET ${base}/objects/ImagePolicy/flux%20system/podinfo/events?limit=2&cursor=8`]:
        () => json(200, { items: [event(7)] }),
    });
    const client = new ImageAutomationClient({ discoveryApi, fetchApi });
    const policy = {
      kind: 'ImagePolicy',
      namespace: 'flux system',
      name: 'podinfo',
    };

    const first = await client.getEvents(policy, { limit: 2 });
    expect(first).toEqual({ items: [event(9), event(8)], nextCursor: '8' });
    await expect(
      client.getEvents(policy, { limit: 2, cursor: first.nextCursor }),
    ).resolves.toEqual({ items: [event(7)] });
    expect(requests.map(r => `${r.method} ${r.url}`)).toEqual([
      `GET ${base}/objects/ImagePolicy/flux%20system/podinfo/events?limit=2`,
      `GET ${base}/objects/ImagePolicy/flux%20system/podinfo/events?limit=2&cursor=8`,
    ]);
  });

  it('surfaces a failed events request as a ResponseError', async () => {
    const { fetchApi } = fakeFetch({});
    const client = new ImageAutomationClient({ discoveryApi, fetchApi });
    const error = await client
      .getEvents({ kind: 'ImagePolicy', namespace: 'default', name: 'gone' })
      .catch(e => e);
    expect(error).toBeInstanceOf(ResponseError);
    expect(error.cause.message).toBe(
      `no route ${base}/objects/ImagePolicy/default/gone/events`,
    );
  });

  it("reads a ResourceSet's inventory per cluster, escaping the path, and surfaces a refusal", async () => {
    const view = {
      id: 'ResourceSet/team a/web',
      clusters: [
        {
          cluster: 'prod',
          state: 'applied',
          updatedAt: '2030-01-01T00:00:00.000Z',
          entries: [{ apiVersion: 'v1', kind: 'Namespace', name: 'apps' }],
        },
      ],
    };
    const { fetchApi, requests } = fakeFetch({
      [`GET ${base}/objects/ResourceSet/team%20a/web/inventory`]: () =>
        json(200, view),
      [`GET ${base}/objects/ResourceSet/apps/vault/inventory`]: () =>
        errorJson(403, 'GET', '/objects/ResourceSet/apps/vault/inventory', {
          name: 'NotAllowedError',
          message:
            'you may not read the image automation of component:default/vault (image-automation.object.read)',
        }),
    });
    const client = new ImageAutomationClient({ discoveryApi, fetchApi });
    expect(
      await client.getResourceSetInventory({
        namespace: 'team a',
        name: 'web',
      }),
    ).toEqual(view);
    expect(requests).toEqual([
      {
        method: 'GET',
        url: `${base}/objects/ResourceSet/team%20a/web/inventory`,
      },
    ]);
    const error = await client
      .getResourceSetInventory({ namespace: 'apps', name: 'vault' })
      .catch(e => e);
    expect(error).toBeInstanceOf(ResponseError);
    expect(error.response.status).toBe(403);
    expect(error.cause.name).toBe('NotAllowedError');
  });

  it('reads a timeline page by page with its range, limit and cursor', async () => {
    const view = { entityRef: 'component:default/shop', lanes: [], items: [] };
    const { fetchApi, requests } = fakeFetch({
      [`GET ${base}/entities/Component/default/shop/timeline`]: () =>
        json(200, { ...view, nextCursor: 'c 1' }),
      [`GET ${base}/entities/Component/default/shop/timeline?since=2030-01-01T00%3A00%3A00.000Z&until=2030-01-08T00%3A00%3A00.000Z&limit=50&cursor=c+1`]:
        () => json(200, view),
    });
    const client = new ImageAutomationClient({ discoveryApi, fetchApi });
    const entity = { kind: 'Component', namespace: 'default', name: 'shop' };

    const first = await client.getTimeline(entity);
    expect(first).toEqual({ ...view, nextCursor: 'c 1' });
    await expect(
      client.getTimeline(entity, {
        since: '2030-01-01T00:00:00.000Z',
        until: '2030-01-08T00:00:00.000Z',
        limit: 50,
        cursor: first.nextCursor,
      }),
    ).resolves.toEqual(view);
    expect(requests.map(r => r.method)).toEqual(['GET', 'GET']);
  });

  it('posts actions and returns the updated object', async () => {
    const { fetchApi, requests } = fakeFetch({
      [`POST ${base}/objects/ImagePolicy/default/podinfo/reconcile`]: () =>
        json(200, {
          id: 'ImagePolicy/default/podinfo',
          reconcileRequestedBy: 'user:default/guest',
        }),
    });
    const client = new ImageAutomationClient({ discoveryApi, fetchApi });

    await expect(
      client.runAction(
        { kind: 'ImagePolicy', namespace: 'default', name: 'podinfo' },
        'reconcile',
      ),
    ).resolves.toEqual({
      id: 'ImagePolicy/default/podinfo',
      reconcileRequestedBy: 'user:default/guest',
    });
    expect(requests).toEqual([
      {
        method: 'POST',
        url: `${base}/objects/ImagePolicy/default/podinfo/reconcile`,
      },
    ]);
  });

  it('surfaces a refusal as a ResponseError carrying the server error', async () => {
    const { fetchApi } = fakeFetch({
      [`POST ${base}/objects/ImagePolicy/default/podinfo/suspend`]: () =>
        errorJson(403, 'POST', '/objects/ImagePolicy/default/podinfo/suspend', {
          name: 'NotAllowedError',
          message: 'not an owner',
        }),
    });
    const client = new ImageAutomationClient({ discoveryApi, fetchApi });

    const error = await client
      .runAction(
        { kind: 'ImagePolicy', namespace: 'default', name: 'podinfo' },
        'suspend',
      )
      .catch(e => e);
    expect(error).toBeInstanceOf(ResponseError);
    expect(error.statusCode).toBe(403);
    expect(error.cause).toMatchObject({
      name: 'NotAllowedError',
      message: 'not an owner',
    });
  });
  it('reads versions and promotions, sends decisions with their text, previews, pins and unpins', async () => {
    const entity = { kind: 'Component', namespace: 'default', name: 'shop' };
    const id = 'p 1';
    const { fetchApi, requests } = fakeFetch({
      [`GET ${base}/entities/Component/default/shop/versions`]: () =>
        json(200, { entityRef: 'component:default/shop', items: [] }),
      [`GET ${base}/entities/Component/default/shop/promotions?state=pending%2Cfailed&limit=50`]:
        () => json(200, { items: [{ id }] }),
      [`POST ${base}/promotions/p%201/reject`]: () =>
        json(200, { id, state: 'rejected' }),
      [`POST ${base}/promotions/p%201/promote`]: () =>
        json(200, { id, state: 'approved' }),
      [`POST ${base}/promotions/p%201/preview`]: () =>
        json(200, { promotionId: id, diff: '-a\n+b\n' }),
      [`POST ${base}/pins`]: () => json(200, { targetId: 't', subject: 's' }),
      [`DELETE ${base}/pins?targetId=git%3AImageUpdateAutomation%2Fa%2Fb&subject=ImagePolicy%2Fa%2Fp`]:
        () => new Response(null, { status: 204 }),
    });
    const client = new ImageAutomationClient({ discoveryApi, fetchApi });

    await expect(client.getVersions(entity)).resolves.toEqual({
      entityRef: 'component:default/shop',
      items: [],
    });
    await expect(
      client.getPromotions(entity, {
        states: ['pending', 'failed'],
        limit: 50,
      }),
    ).resolves.toEqual({ items: [{ id }] });
    await expect(
      client.decidePromotion(id, {
        action: 'reject',
        reason: 'breaks the API',
      }),
    ).resolves.toEqual({ id, state: 'rejected' });
    await client.decidePromotion(id, {
      action: 'promote',
      justification: 'hotfix',
    });
    await expect(client.previewPromotion(id)).resolves.toEqual({
      promotionId: id,
      diff: '-a\n+b\n',
    });
    await client.pin({
      targetId: 't',
      subject: 's',
      version: { tag: '1.0.0' },
      reason: 'hold',
    });
    await expect(
      client.unpin('git:ImageUpdateAutomation/a/b', 'ImagePolicy/a/p'),
    ).resolves.toBeUndefined();
    expect(
      requests
        .filter(r => r.method === 'POST')
        .map(r => [r.url.slice(base.length), r.body]),
    ).toEqual([
      ['/promotions/p%201/reject', { reason: 'breaks the API' }],
      ['/promotions/p%201/promote', { justification: 'hotfix' }],
      ['/promotions/p%201/preview', undefined],
      [
        '/pins',
        {
          targetId: 't',
          subject: 's',
          version: { tag: '1.0.0' },
          reason: 'hold',
        },
      ],
    ]);
  });

  it('reads the fleet, sending only the filters that are set, escaped', async () => {
    const empty = {
      promotions: [],
      failing: [],
      facets: { owners: [], kinds: [], states: [] },
    };
    const { fetchApi, requests } = fakeFetch({
      [`GET ${base}/fleet`]: () => json(200, empty),
      [`GET ${base}/fleet?owner=group%3Adefault%2Fteam-a&state=Stalled`]: () =>
        json(200, empty),
      [`GET ${base}/fleet?kind=Deployment`]: () =>
        errorJson(400, 'GET', '/fleet?kind=Deployment', {
          name: 'InputError',
          message: "unknown kind 'Deployment'",
        }),
    });
    const client = new ImageAutomationClient({ discoveryApi, fetchApi });

    await expect(client.getFleet()).resolves.toEqual(empty);
    await expect(
      client.getFleet({
        owner: 'group:default/team-a',
        kind: '',
        state: 'Stalled',
      }),
    ).resolves.toEqual(empty);
    const error = await client.getFleet({ kind: 'Deployment' }).catch(e => e);
    expect(error).toBeInstanceOf(ResponseError);
    expect(error.cause.message).toBe("unknown kind 'Deployment'");
    expect(requests.map(r => r.url.slice(base.length))).toEqual([
      '/fleet',
      '/fleet?owner=group%3Adefault%2Fteam-a&state=Stalled',
      '/fleet?kind=Deployment',
    ]);
  });

  it('explains a policy, previews an unsaved spec with its body, and pages tags with search', async () => {
    const explanation = {
      repositoryId: 'ImageRepository/apps/web',
      selection: { ok: true, tag: '1.2.0' },
      verdicts: [],
      exclusionList: [],
    };
    const spec = {
      imageRepositoryRef: { name: 'web' },
      policy: { semver: { range: '>=2' } },
    };
    const { fetchApi, requests } = fakeFetch({
      [`GET ${base}/objects/ImagePolicy/apps/web%201/explain`]: () =>
        json(200, explanation),
      [`POST ${base}/policy-preview`]: () =>
        errorJson(400, 'POST', '/policy-preview', {
          name: 'InputError',
          message: 'ImagePolicy "preview" is invalid: spec.policy: required',
        }),
      [`GET ${base}/objects/ImageRepository/apps/web/tags?search=rc+1&limit=100&cursor=1.0.0&includeGone=true`]:
        () =>
          json(200, {
            items: [{ tag: '1.1.0-rc 1', firstSeenAt: 't', lastSeenAt: 't' }],
          }),
      [`GET ${base}/objects/ImageRepository/apps/web/tags`]: () =>
        json(200, { items: [] }),
    });
    const client = new ImageAutomationClient({ discoveryApi, fetchApi });
    const repository = {
      kind: 'ImageRepository',
      namespace: 'apps',
      name: 'web',
    };

    await expect(
      client.explainPolicy({
        kind: 'ImagePolicy',
        namespace: 'apps',
        name: 'web 1',
      }),
    ).resolves.toEqual(explanation);
    const error = await client
      .previewPolicy({ namespace: 'apps', spec })
      .catch(e => e);
    expect(error).toBeInstanceOf(ResponseError);
    expect(error.cause.message).toBe(
      'ImagePolicy "preview" is invalid: spec.policy: required',
    );
    await expect(
      client.getTags(repository, {
        search: 'rc 1',
        limit: 100,
        cursor: '1.0.0',
        includeGone: true,
      }),
    ).resolves.toEqual({
      items: [{ tag: '1.1.0-rc 1', firstSeenAt: 't', lastSeenAt: 't' }],
    });
    await expect(
      client.getTags(repository, { search: '', includeGone: false }),
    ).resolves.toEqual({ items: [] });
    expect(requests.find(r => r.method === 'POST')).toEqual({
      method: 'POST',
      url: `${base}/policy-preview`,
      body: { namespace: 'apps', spec },
    });
  });
});
