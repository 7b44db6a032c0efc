import http from 'node:http';
import { AddressInfo } from 'node:net';
import { ConfigReader } from '@backstage/config';
import {
  CredentialRefusedError,
  NamedCredentials,
} from '../../credentials/NamedCredentials';
import {
  checkSourceUrl,
  createSourceHttp,
  SourceHttpError,
  SourceNotAllowedError,
  sourceCredential,
} from './http';
import { InputSourceContext } from './types';

// The HTTP client of input sources against a local HTTP server: the allow-lists fail closed and
// are checked before anything is sent, and every failure names the service and the status.

describe('input source HTTP', () => {
  let server: http.Server;
  let host: string;
  const seen: string[] = [];
  let answer: (req: http.IncomingMessage, res: http.ServerResponse) => void;
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      seen.push(`${req.method} ${req.url} ${req.headers.authorization ?? '-'}`);
      answer(req, res);
    });
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
    host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise(resolve => server.close(resolve)));
  beforeEach(() => {
    seen.length = 0;
    answer = (_req, res) => res.end(JSON.stringify([{ name: 'main' }]));
  });

  const context = (
    config: object,
    spec: object = {},
    deadline = Date.now() + 5000,
  ): InputSourceContext => {
    const reader = new ConfigReader({ imageAutomation: config });
    return {
      provider: {
        namespace: 'apps',
        name: 'branches',
        entityRef: 'component:default/app',
      },
      spec: { type: 'GiteaBranch', url: `http://${host}/team/app`, ...spec },
      previous: undefined,
      credentials: NamedCredentials.fromConfig(reader),
      config: reader,
      deadline,
      now: new Date(),
    };
  };
  const open = {
    inputProviders: {
      allowedHosts: ['127.0.0.1'],
      insecureHosts: ['127.0.0.1'],
    },
  };
  const failure = async (promise: Promise<unknown>) =>
    promise.then(
      () => {
        throw new Error('expected a failure');
      },
      e => e,
    );

  it('refuses hosts and schemes the configuration does not allow, before sending anything', async () => {
    const cases: Array<[object, string, RegExp]> = [
      [
        {},
        `http://${host}/x`,
        /^plain HTTP to 127\.0\.0\.1:\d+ is not allowed/,
      ],
      [
        { inputProviders: { insecureHosts: ['127.0.0.1'] } },
        `http://${host}/x`,
        /^host 127\.0\.0\.1:\d+ is not in imageAutomation\.inputProviders\.allowedHosts/,
      ],
      [
        { inputProviders: { allowedHosts: ['127.0.0.1'] } },
        `http://${host}/x`,
        /^plain HTTP to/,
      ],
      [open, `ftp://${host}/x`, /^scheme 'ftp' is not allowed/],
      [
        open,
        `http://user:secret@${host}/x`,
        /credentials in the URL are not allowed/,
      ],
      [
        { inputProviders: { allowedHosts: ['*.example.com'] } },
        'https://example.com.evil.test/x',
        /is not in imageAutomation\.inputProviders\.allowedHosts/,
      ],
    ];
    for (const [config, url, message] of cases) {
      const error = await failure(
        createSourceHttp(context(config), { what: 'Gitea' }).getJson(url),
      );
      expect(error).toBeInstanceOf(SourceNotAllowedError);
      expect(error.message).toMatch(message);
      expect(error.message).not.toContain('user:secret');
    }
    expect(() => checkSourceUrl(context(open), 'not a url')).toThrow(
      "'not a url' is not a valid URL",
    );
    expect(seen).toEqual([]);
  });

  it('answers JSON, and names the service, URL and status of an error answer (query left out)', async () => {
    const client = createSourceHttp(context(open), { what: 'Gitea' });
    expect(
      (
        await client.getJson(`http://${host}/api/v1/repos/team/app/branches`, {
          headers: { authorization: 'Bearer t' },
        })
      ).body,
    ).toEqual([{ name: 'main' }]);
    expect(seen).toEqual(['GET /api/v1/repos/team/app/branches Bearer t']);
    answer = (_req, res) => {
      res.statusCode = 401;
      res.end('{"message":"token is required"}');
    };
    const error = await failure(
      client.getJson(
        `http://${host}/api/v1/repos/team/app/branches?page=2&token=hidden`,
      ),
    );
    expect(error).toBeInstanceOf(SourceHttpError);
    expect(error.status).toBe(401);
    expect(error.message).toBe(
      `Gitea 'http://${host}/api/v1/repos/team/app/branches' returned HTTP 401`,
    );
  });

  it('reads how long a rate limit asks callers to wait', async () => {
    const client = createSourceHttp(context(open), { what: 'GitHub' });
    answer = (_req, res) => {
      res.writeHead(429, { 'retry-after': '7' });
      res.end('{}');
    };
    let error = await failure(client.getJson(`http://${host}/x`));
    expect(error.retryAfterMs).toBe(7000);
    expect(error.message).toMatch(
      /returned HTTP 429; rate limited, retry after 7s$/,
    );
    const reset = Math.floor(Date.now() / 1000) + 60;
    answer = (_req, res) => {
      res.writeHead(403, {
        'x-ratelimit-remaining': '0',
        'x-ratelimit-reset': String(reset),
      });
      res.end('{}');
    };
    error = await failure(client.getJson(`http://${host}/x`));
    expect(error.status).toBe(403);
    expect(error.retryAfterMs).toBeGreaterThan(55_000);
    expect(error.retryAfterMs).toBeLessThanOrEqual(60_000);
    answer = (_req, res) => {
      res.writeHead(403);
      res.end('{}');
    };
    error = await failure(client.getJson(`http://${host}/x`));
    expect(error.retryAfterMs).toBeUndefined();
    expect(error.message).toMatch(/returned HTTP 403$/);
  });

  it('refuses an answer over the size limit, one that is not JSON, and one slower than the deadline', async () => {
    answer = (_req, res) =>
      res.end(JSON.stringify({ inputs: 'x'.repeat(2000) }));
    let error = await failure(
      createSourceHttp(context(open), {
        what: 'external service',
        maxBodyBytes: 1000,
      }).getJson(`http://${host}/x`),
    );
    expect(error.message).toBe(
      `external service: GET http://${host}/x: the response is larger than 1000 bytes`,
    );
    answer = (_req, res) => res.end('<html>');
    error = await failure(
      createSourceHttp(context(open), { what: 'Gitea' }).getJson(
        `http://${host}/x`,
      ),
    );
    expect(error.message).toMatch(
      /^Gitea: GET http:\/\/127\.0\.0\.1:\d+\/x: the response is not JSON: /,
    );
    answer = (_req, res) => setTimeout(() => res.end('[]'), 2000);
    const started = Date.now();
    error = await failure(
      createSourceHttp(context(open, {}, Date.now() + 300), {
        what: 'Gitea',
      }).getJson(`http://${host}/slow`),
    );
    expect(error.message).toBe(`Gitea: GET http://${host}/slow: timed out`);
    expect(Date.now() - started).toBeLessThan(1500);
    error = await failure(
      createSourceHttp(context(open, {}, Date.now() - 1), {
        what: 'Gitea',
      }).getJson(`http://${host}/late`),
    );
    expect(error.message).toBe(
      `Gitea: GET http://${host}/late: the call's timeout passed`,
    );
  });

  it('gives a provider only a credential granted to its entity and bound to its repository', () => {
    const config = {
      ...open,
      credentials: {
        gitea: {
          type: 'token',
          token: 'gitea-token',
          allowedEntities: ['component:default/app'],
          hosts: [`${host}/team`],
        },
        other: {
          type: 'token',
          token: 'other-token',
          allowedEntities: ['component:default/other'],
          hosts: [host],
        },
      },
    };
    const ok = context(config, { secretRef: { name: 'gitea' } });
    expect(sourceCredential(ok, `http://${host}/team/app`)).toEqual({
      type: 'token',
      token: 'gitea-token',
    });
    expect(() => sourceCredential(ok, `http://${host}/elsewhere/app`)).toThrow(
      CredentialRefusedError,
    );
    expect(() =>
      sourceCredential(
        context(config, { secretRef: { name: 'other' } }),
        `http://${host}/team/app`,
      ),
    ).toThrow(/not granted to component:default\/app/);
    expect(
      sourceCredential(context(config), `http://${host}/team/app`),
    ).toBeUndefined();
  });
});
