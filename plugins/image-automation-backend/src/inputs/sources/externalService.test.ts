import fs from 'node:fs';
import https from 'node:https';
import { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ConfigReader } from '@backstage/config';
import type { JsonObject } from '@backstage/types';
import { makeCertificates } from '@internal/image-automation-test/testbed/certificates';
import {
  startExternalServiceStandIn,
  ExternalServiceStandIn,
} from '@internal/image-automation-test/testbed/externalService';
import { NamedCredentials } from '../../credentials/NamedCredentials';
import {
  EXTERNAL_SERVICE_MAX_BODY_BYTES,
  externalServiceInputs,
  externalServiceSource,
} from './externalService';
import { InputSourceContext, InputSourceResult } from './types';

// The ExternalService input provider against a stand-in service on 127.0.0.1 (an external service
// is by definition someone's HTTP service): the answer contract, the size limit, authentication,
// which failures are retried, and every refusal decided before a request is sent.

const TOKEN = 'ext-token-3f9c1d2b7a';
const PASSWORD = 'ext-password-8e1b44c0';
const ENTITY = 'component:default/app';

describe('ExternalService input source (stand-in service)', () => {
  let service: ExternalServiceStandIn;
  beforeAll(async () => {
    service = await startExternalServiceStandIn();
  });
  afterAll(() => service.stop());
  beforeEach(() => {
    service.requests.length = 0;
  });

  const open = () => ({
    allowedHosts: ['127.0.0.1'],
    insecureHosts: ['127.0.0.1'],
  });
  const credentials = (hosts = [service.host]) => ({
    'ext-token': {
      type: 'token',
      token: TOKEN,
      allowedEntities: [ENTITY],
      hosts,
    },
    'ext-basic': {
      type: 'basic',
      username: 'reader',
      password: PASSWORD,
      allowedEntities: [ENTITY],
      hosts,
    },
    'someone-elses': {
      type: 'token',
      token: TOKEN,
      allowedEntities: ['component:default/other'],
      hosts,
    },
  });
  const context = (
    spec: Record<string, unknown> = {},
    config: Record<string, unknown> = {
      inputProviders: open(),
      credentials: credentials(),
    },
    deadline = Date.now() + 10_000,
  ): InputSourceContext => {
    const reader = new ConfigReader({ imageAutomation: config } as JsonObject);
    return {
      provider: { namespace: 'apps', name: 'previews', entityRef: ENTITY },
      spec: {
        type: 'ExternalService',
        url: `${service.baseUrl}/inputs`,
        insecure: true,
        ...spec,
      } as any,
      previous: undefined,
      credentials: NamedCredentials.fromConfig(reader),
      config: reader,
      deadline,
      now: new Date(),
    };
  };
  const failed = (result: InputSourceResult) => {
    if (result.ok)
      throw new Error(
        `expected a failure, got ${JSON.stringify(result.inputs)}`,
      );
    return result;
  };

  it('exports the answer as given, in order, at most spec.filter.limit, with Bearer or Basic auth and Accept: application/json', async () => {
    const inputs = [
      { id: 'pr-3', branch: 'feat-c', labels: ['preview'], replicas: 2 },
      { id: 'pr-1', branch: 'feat-a' },
      { id: 'pr-2', branch: 'feat-b', nested: { tier: 'web' } },
    ];
    service.answer('/inputs', { body: { inputs, other: 'ignored' } });
    expect(
      await externalServiceSource(
        context({ secretRef: { name: 'ext-token' } }),
      ),
    ).toEqual({ ok: true, inputs });
    expect(service.requests).toEqual([
      {
        method: 'GET',
        path: '/inputs',
        authorization: `Bearer ${TOKEN}`,
        accept: 'application/json',
      },
    ]);
    expect(
      await externalServiceSource(
        context({ secretRef: { name: 'ext-basic' }, filter: { limit: 2 } }),
      ),
    ).toEqual({
      ok: true,
      inputs: inputs.slice(0, 2),
    });
    expect(service.requests[1].authorization).toBe(
      `Basic ${Buffer.from(`reader:${PASSWORD}`).toString('base64')}`,
    );
    // Without secretRef: no Authorization header at all.
    expect(await externalServiceSource(context())).toMatchObject({ ok: true });
    expect(service.requests[2].authorization).toBeUndefined();
  });

  it('truncates to the default limit of 100, and accepts an empty list', async () => {
    service.answer('/many', {
      body: {
        inputs: Array.from({ length: 150 }, (_, i) => ({ id: `i${i}` })),
      },
    });
    const result = await externalServiceSource(
      context({ url: `${service.baseUrl}/many` }),
    );
    expect(result.ok && result.inputs.map(i => i.id)).toEqual(
      Array.from({ length: 100 }, (_, i) => `i${i}`),
    );
    service.answer('/none', { body: { inputs: [] } });
    expect(
      await externalServiceSource(context({ url: `${service.baseUrl}/none` })),
    ).toEqual({ ok: true, inputs: [] });
  });

  it('reads a body of exactly 900 KiB and refuses one byte more', async () => {
    const body = (size: number) => {
      const shell = JSON.stringify({ inputs: [{ id: 'big', pad: '' }] });
      return shell.replace(
        '"pad":""',
        `"pad":"${'x'.repeat(size - shell.length)}"`,
      );
    };
    expect(Buffer.byteLength(body(EXTERNAL_SERVICE_MAX_BODY_BYTES))).toBe(
      921_600,
    );
    service.answer('/big', { body: body(EXTERNAL_SERVICE_MAX_BODY_BYTES) });
    const ok = await externalServiceSource(
      context({ url: `${service.baseUrl}/big` }),
    );
    expect(ok.ok && ok.inputs[0].id).toBe('big');
    service.answer('/big', { body: body(EXTERNAL_SERVICE_MAX_BODY_BYTES + 1) });
    expect(
      failed(
        await externalServiceSource(context({ url: `${service.baseUrl}/big` })),
      ),
    ).toEqual({
      ok: false,
      terminal: false,
      reason: 'ReconciliationFailed',
      message: `external service: GET ${service.baseUrl}/big: the response is larger than 921600 bytes`,
    });
  });

  it('names what is wrong with an answer that breaks the contract, and retries it later (not Stalled)', async () => {
    const prefix = `invalid response from external service '${service.baseUrl}/inputs'`;
    const cases: Array<[unknown, string]> = [
      [
        { items: [{ id: 'a' }] },
        `failed to call ExternalService provider: external service '${service.baseUrl}/inputs' response does not contain an 'inputs' field`,
      ],
      [{ inputs: { id: 'a' } }, `${prefix}: 'inputs' is not an array`],
      [
        [{ id: 'a' }],
        `${prefix}: the response is not a JSON object with an 'inputs' array`,
      ],
      [
        { inputs: [{ id: 'a' }, { branch: 'x' }] },
        `${prefix}: input at index 1 is missing the required 'id' field`,
      ],
      [
        { inputs: [{ id: 42 }] },
        `${prefix}: input at index 0 has a non-string 'id' (number)`,
      ],
      [
        { inputs: [{ id: 'a' }, { id: 'b' }, { id: 'a' }] },
        `${prefix}: input at index 2 has a duplicate 'id' value 'a'`,
      ],
      [
        { inputs: [{ id: 'a' }, 'b'] },
        `${prefix}: input at index 1 is not an object`,
      ],
    ];
    for (const [body, message] of cases) {
      service.answer('/inputs', { body });
      expect(failed(await externalServiceSource(context()))).toEqual({
        ok: false,
        terminal: false,
        reason: 'ReconciliationFailed',
        message,
      });
    }
    service.answer('/inputs', { body: 'not json' });
    expect(failed(await externalServiceSource(context())).message).toMatch(
      /^external service: GET http:\/\/127\.0\.0\.1:\d+\/inputs: the response is not JSON: /,
    );
    // None of these was retried: one request each.
    expect(service.requests).toHaveLength(cases.length + 1);
    expect(externalServiceInputs({ inputs: [{ id: 'x' }] }, 'u')).toEqual([
      { id: 'x' },
    ]);
  });

  it('reports a non-2xx status as the Flux Operator does, without retrying it; a 429 carries its Retry-After', async () => {
    for (const status of [401, 403, 404, 500, 503]) {
      service.requests.length = 0;
      service.answer('/inputs', { status, body: { message: 'no' } });
      expect(
        failed(
          await externalServiceSource(
            context({ secretRef: { name: 'ext-token' } }),
          ),
        ),
      ).toEqual({
        ok: false,
        terminal: false,
        reason: 'ReconciliationFailed',
        message: `external service '${service.baseUrl}/inputs' returned HTTP ${status}`,
      });
      expect(service.requests).toHaveLength(1);
    }
    service.answer('/inputs', {
      status: 429,
      body: {},
      headers: { 'retry-after': '42' },
    });
    expect(failed(await externalServiceSource(context()))).toEqual({
      ok: false,
      terminal: false,
      reason: 'ReconciliationFailed',
      message: `external service '${service.baseUrl}/inputs' returned HTTP 429; rate limited, retry after 42s`,
      retryAfterMs: 42_000,
    });
  });

  it('does not follow a redirect', async () => {
    service.answer('/moved', {
      status: 302,
      body: {},
      headers: { location: `${service.baseUrl}/inputs` },
    });
    expect(
      failed(
        await externalServiceSource(
          context({ url: `${service.baseUrl}/moved` }),
        ),
      ).message,
    ).toBe(`external service '${service.baseUrl}/moved' returned HTTP 302`);
    expect(service.requests.map(r => r.path)).toEqual(['/moved']);
  });

  it('retries a dropped connection (3 attempts in all), and only that', async () => {
    service.answer('/inputs', { body: { inputs: [{ id: 'a' }] } });
    service.dropNext(2);
    expect(await externalServiceSource(context())).toEqual({
      ok: true,
      inputs: [{ id: 'a' }],
    });
    expect(service.requests).toHaveLength(3);
    service.requests.length = 0;
    service.dropNext(5);
    const result = failed(await externalServiceSource(context()));
    expect(result).toMatchObject({
      terminal: false,
      reason: 'ReconciliationFailed',
    });
    expect(result.message).toMatch(
      /^external service: GET http:\/\/127\.0\.0\.1:\d+\/inputs: socket hang up$/,
    );
    expect(service.requests).toHaveLength(3);
    service.dropNext(0);
  });

  it('refuses plain HTTP unless spec.insecure is set and the host is in insecureHosts, before any request', async () => {
    expect(
      failed(await externalServiceSource(context({ insecure: false }))),
    ).toEqual({
      ok: false,
      terminal: true,
      reason: 'InvalidSpec',
      message: "spec.url must use 'https://' unless spec.insecure is true",
    });
    const notInsecure = failed(
      await externalServiceSource(
        context(
          {},
          {
            inputProviders: { allowedHosts: ['127.0.0.1'] },
            credentials: credentials(),
          },
        ),
      ),
    );
    expect(notInsecure).toMatchObject({
      terminal: true,
      reason: 'HostNotAllowed',
    });
    expect(notInsecure.message).toBe(
      `plain HTTP to ${service.host} is not allowed: use https, or list the host in imageAutomation.inputProviders.insecureHosts`,
    );
    const notAllowed = failed(
      await externalServiceSource(
        context({}, { inputProviders: { insecureHosts: ['127.0.0.1'] } }),
      ),
    );
    expect(notAllowed).toMatchObject({
      terminal: true,
      reason: 'HostNotAllowed',
    });
    expect(notAllowed.message).toMatch(
      /is not in imageAutomation\.inputProviders\.allowedHosts/,
    );
    expect(
      failed(await externalServiceSource(context({ url: 'ftp://127.0.0.1/x' })))
        .reason,
    ).toBe('InvalidSpec');
    expect(
      failed(
        await externalServiceSource(
          context({ url: `http://u:p@${service.host}/inputs` }),
        ),
      ).message,
    ).toMatch(/credentials in the URL are not allowed/);
    expect(service.requests).toEqual([]);
  });

  it('refuses a credential not granted to the entity or not bound to the URL, before any request, naming neither secret', async () => {
    const results = [
      await externalServiceSource(
        context({ secretRef: { name: 'someone-elses' } }),
      ),
      await externalServiceSource(
        context(
          { secretRef: { name: 'ext-token' } },
          {
            inputProviders: open(),
            credentials: credentials([`${service.host}/elsewhere`]),
          },
        ),
      ),
      await externalServiceSource(context({ secretRef: { name: 'missing' } })),
      await externalServiceSource(
        context({ certSecretRef: { name: 'ext-token' } }),
      ),
    ].map(failed);
    expect(results.map(r => [r.terminal, r.reason])).toEqual(
      Array(4).fill([true, 'CredentialRefused']),
    );
    expect(results[0].message).toBe(
      `failed to read secret 'apps/someone-elses': credential 'someone-elses' is not granted to ${ENTITY} (imageAutomation.credentials.someone-elses.allowedEntities)`,
    );
    expect(results[1].message).toMatch(
      /credential 'ext-token' may not be sent to 127\.0\.0\.1:\d+\/inputs: it is bound to /,
    );
    expect(results[3].message).toMatch(/not of type tls/);
    expect(JSON.stringify(results)).not.toContain(TOKEN);
    expect(service.requests).toEqual([]);
  });

  it('keeps secrets out of every failure message', async () => {
    const messages: string[] = [];
    for (const status of [401, 500]) {
      service.answer('/inputs', { status, body: { echo: TOKEN } });
      messages.push(
        failed(
          await externalServiceSource(
            context({ secretRef: { name: 'ext-token' } }),
          ),
        ).message,
      );
      messages.push(
        failed(
          await externalServiceSource(
            context({ secretRef: { name: 'ext-basic' } }),
          ),
        ).message,
      );
    }
    service.answer('/inputs', { body: { inputs: [{ id: 'a' }, { id: 'a' }] } });
    messages.push(
      failed(
        await externalServiceSource(
          context({ secretRef: { name: 'ext-token' } }),
        ),
      ).message,
    );
    expect(messages).toHaveLength(5);
    for (const text of messages) {
      for (const secret of [
        TOKEN,
        PASSWORD,
        Buffer.from(`reader:${PASSWORD}`).toString('base64'),
      ]) {
        expect(text).not.toContain(secret);
      }
    }
  });

  it('reaches an https service with a private CA and a client certificate from certSecretRef (a tls credential)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ext-tls-'));
    const certs = await makeCertificates(dir);
    const seen: Array<string | undefined> = [];
    const server = https.createServer(
      {
        cert: fs.readFileSync(certs.serverCertFile),
        key: fs.readFileSync(certs.serverKeyFile),
        ca: certs.ca,
        requestCert: true,
        rejectUnauthorized: true,
      },
      (req, res) => {
        seen.push((req.socket as any).getPeerCertificate()?.subject?.CN);
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ inputs: [{ id: 'tls' }] }));
      },
    );
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `https://127.0.0.1:${
        (server.address() as AddressInfo).port
      }/inputs`;
      const config = {
        inputProviders: { allowedHosts: ['127.0.0.1'] },
        credentials: {
          'ext-tls': {
            type: 'tls',
            ca: certs.ca,
            cert: certs.clientCert,
            key: certs.clientKey,
            allowedEntities: [ENTITY],
            hosts: ['127.0.0.1'],
          },
        },
      };
      expect(
        await externalServiceSource(
          context(
            { url, insecure: undefined, certSecretRef: { name: 'ext-tls' } },
            config,
          ),
        ),
      ).toEqual({
        ok: true,
        inputs: [{ id: 'tls' }],
      });
      expect(seen).toHaveLength(1);
      // Without it the server's certificate is not trusted: a failed call, retried later.
      const untrusted = failed(
        await externalServiceSource(
          context({ url, insecure: undefined }, config),
        ),
      );
      expect(untrusted).toMatchObject({
        terminal: false,
        reason: 'ReconciliationFailed',
      });
      expect(untrusted.message).toMatch(/certificate/i);
      expect(seen).toHaveLength(1);
    } finally {
      server.closeAllConnections();
      await new Promise(resolve => server.close(resolve));
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
