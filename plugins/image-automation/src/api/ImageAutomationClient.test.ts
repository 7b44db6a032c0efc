/**
 * @jest-environment node
 */
import { ResponseError } from '@backstage/errors';
import { ImageAutomationClient } from './ImageAutomationClient';

interface RecordedRequest {
  method: string;
  url: string;
}

/** A fetch that answers from a table of routes, as the backend would, and records each request. */
function fakeFetch(routes: Record<string, () => Response>) {
  const requests: RecordedRequest[] = [];
  const fetchApi = {
    fetch: async (input: RequestInfo | URL, init?: RequestInit) => {
      const method = init?.method ?? 'GET';
      const url = String(input);
      requests.push({ method, url });
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
});
