import http from 'node:http';
import net from 'node:net';
import type { AutomationObjectView } from '@imageops/backstage-plugin-image-automation-common';
import { COMMANDS, loadAllCommands, main } from '../index';
import {
  BackendClient,
  CliError,
  describeFailure,
  permissionOf,
} from './client';
import { formatTable, kindNamed, objectTable } from './format';
import { parseEntity, parseObjectRef } from './objects';
import { promotionTable } from './promotions';
import { buildTree, drawTree } from './tree';

function view(
  partial: Partial<AutomationObjectView> & {
    kind: string;
    namespace: string;
    name: string;
  },
): AutomationObjectView {
  return {
    id: `${partial.kind}/${partial.namespace}/${partial.name}`,
    apiVersion: 'v1',
    source: { type: 'catalog', location: 'x' },
    generation: 1,
    spec: {},
    status: {},
    suspended: false,
    actions: {
      suspend: { allowed: true },
      resume: { allowed: true },
      reconcile: { allowed: true },
    },
    ...partial,
  };
}

const ready = (message: string, status: 'True' | 'False' = 'True') => ({
  conditions: [
    {
      type: 'Ready',
      status,
      reason: 'R',
      message,
      lastTransitionTime: '2026-01-01T00:00:00Z',
    },
  ],
});

describe('formatTable', () => {
  it('pads every column but the last to its widest cell, tab-separated, and flattens tabs and new lines in cells', () => {
    expect(
      formatTable(
        ['NAME', 'READY', 'MESSAGE'],
        [
          ['a', 'True', 'ok'],
          ['longer-name', 'False', 'line one\nline\ttwo'],
        ],
      ),
    ).toBe(
      'NAME       \tREADY\tMESSAGE\n' +
        'a          \tTrue \tok\n' +
        'longer-name\tFalse\tline one line two\n',
    );
  });
});

describe('objectTable', () => {
  const policy = view({
    kind: 'ImagePolicy',
    namespace: 'apps',
    name: 'web',
    entityRef: 'component:default/web',
    status: {
      ...ready('Latest image tag for ghcr.io/a/web resolved to 1.2.0'),
      latestRef: { name: 'ghcr.io/a/web', tag: '1.2.0' },
    },
  });
  it('prints the kind-specific column, SUSPENDED and READY as flux does, with ENTITY and NAMESPACE when not narrowed', () => {
    const kind = kindNamed('policies')!;
    expect(
      objectTable(kind, [policy], { namespaces: true, entities: true })
        .split('\n')[1]
        .split('\t'),
    ).toEqual([
      'component:default/web',
      'apps     ',
      'web ',
      'ghcr.io/a/web:1.2.0',
      'False    ',
      'True ',
      'Latest image tag for ghcr.io/a/web resolved to 1.2.0',
    ]);
    expect(
      objectTable(kind, [{ ...policy, suspended: true }], {
        namespaces: false,
        entities: false,
        qualifiedNames: true,
      }),
    ).toBe(
      'NAME           \tLATEST IMAGE       \tSUSPENDED\tREADY\tMESSAGE\n' +
        'imagepolicy/web\tghcr.io/a/web:1.2.0\tTrue     \tTrue \tLatest image tag for ghcr.io/a/web resolved to 1.2.0\n',
    );
  });
  it('says an object without conditions was not reconciled yet', () => {
    const row = objectTable(
      kindNamed('rset')!,
      [view({ kind: 'ResourceSet', namespace: 'a', name: 'b' })],
      { namespaces: false, entities: false },
    );
    expect(
      row
        .split('\n')[1]
        .split('\t')
        .map(s => s.trim()),
    ).toEqual(['b', '', 'False', 'Unknown', 'not reconciled yet']);
  });
});

describe('argument parsing', () => {
  it('reads entity refs as Backstage does, defaulting kind and namespace', () => {
    expect(parseEntity('component:default/Web')).toEqual({
      kind: 'component',
      namespace: 'default',
      name: 'web',
    });
    expect(parseEntity('web')).toEqual({
      kind: 'component',
      namespace: 'default',
      name: 'web',
    });
    expect(parseEntity('system:team/web')).toEqual({
      kind: 'system',
      namespace: 'team',
      name: 'web',
    });
    expect(() => parseEntity('a:b/c/d')).toThrow("invalid --entity 'a:b/c/d'");
  });
  it('reads KIND/NAME with -n (flux-system by default) and KIND/NAMESPACE/NAME, by any kind name', () => {
    const kindOf = (w: string) => kindNamed(w)?.kind;
    expect(parseObjectRef('images/podinfo', undefined, kindOf).id).toBe(
      'ImageRepository/flux-system/podinfo',
    );
    expect(parseObjectRef('ImagePolicy/podinfo', 'apps', kindOf).id).toBe(
      'ImagePolicy/apps/podinfo',
    );
    expect(parseObjectRef('rset/apps/tenants', undefined, kindOf).id).toBe(
      'ResourceSet/apps/tenants',
    );
    expect(() => parseObjectRef('rset/apps/tenants', 'other', kindOf)).toThrow(
      "names namespace 'apps' but -n says 'other'",
    );
    expect(() => parseObjectRef('Deployment/x', undefined, kindOf)).toThrow(
      "unknown kind 'Deployment'",
    );
    expect(() => parseObjectRef('podinfo', undefined, kindOf)).toThrow(
      'expected KIND/NAME',
    );
  });
  it('rejects usage errors with exit 2 and the usage, before any request', async () => {
    let stderr = '';
    const io = {
      stdout: { write: () => {} },
      stderr: { write: (t: string) => void (stderr += t) },
      readFile: async () => '',
      env: {},
      fetch: (() => {
        throw new Error('no request expected');
      }) as unknown as typeof fetch,
    };
    expect(await main(['get', 'all', '-o', 'xml'], io)).toBe(2);
    expect(stderr).toMatch(
      /^image-automation: invalid output format 'xml': expected table, json or yaml\nusage: image-automation get all/,
    );
    stderr = '';
    expect(await main(['get', 'all', '-n', 'a', '-A'], io)).toBe(2);
    expect(stderr).toContain('-n and -A exclude each other');
    stderr = '';
    expect(
      await main(['suspend', 'images/x', '--backend-url', 'ftp://x'], io),
    ).toBe(2);
    expect(stderr).toContain(
      "invalid --backend-url 'ftp://x': expected an http:// or https:// URL",
    );
  });
});

describe('describeFailure', () => {
  const base = { what: 'ImagePolicy/apps/web', baseUrl: 'http://b:7007' };
  it('names the cause of each refusal', () => {
    expect(describeFailure({ ...base, status: 401, hasToken: false })).toBe(
      'not signed in: set BACKSTAGE_TOKEN (or --token) to a Backstage token for http://b:7007 (401)',
    );
    expect(
      describeFailure({
        ...base,
        status: 401,
        hasToken: true,
        message: 'Illegal token',
      }),
    ).toBe(
      'not signed in: the backend at http://b:7007 rejected the token (401: Illegal token); get a new Backstage token and set BACKSTAGE_TOKEN or --token',
    );
    expect(
      describeFailure({
        ...base,
        status: 403,
        hasToken: true,
        message: 'you may not approve (image-automation.promotion.approve)',
      }),
    ).toBe(
      'forbidden (needs permission image-automation.promotion.approve): you may not approve (image-automation.promotion.approve)',
    );
    expect(describeFailure({ ...base, status: 403, hasToken: true })).toBe(
      'forbidden: the backend refused the request (403)',
    );
    expect(
      describeFailure({
        ...base,
        status: 404,
        hasToken: true,
        message: 'no automation object x',
      }),
    ).toBe('not found: ImagePolicy/apps/web: no automation object x');
    expect(
      describeFailure({
        ...base,
        status: 503,
        hasToken: true,
        message: 'down',
      }),
    ).toBe('the backend at http://b:7007 answered 503: down');
    expect(permissionOf('no permission here')).toBeUndefined();
  });
});

describe('BackendClient over real HTTP', () => {
  let server: http.Server;
  let url: string;
  const seen: Array<{
    method?: string;
    url?: string;
    authorization?: string;
    body: string;
  }> = [];
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', d => (body += d));
      req.on('end', () => {
        seen.push({
          method: req.method,
          url: req.url,
          authorization: req.headers.authorization,
          body,
        });
        if (req.url?.includes('/html')) {
          res
            .writeHead(502, { 'content-type': 'text/html' })
            .end('<html><body>Bad gateway</body></html>');
        } else if (req.url?.includes('/missing')) {
          res.writeHead(404, { 'content-type': 'application/json' }).end(
            JSON.stringify({
              error: {
                name: 'NotFoundError',
                message: 'no automation object x',
              },
            }),
          );
        } else if (req.url?.includes('/text')) {
          res.writeHead(200, { 'content-type': 'text/plain' }).end('hello');
        } else {
          res
            .writeHead(200, { 'content-type': 'application/json' })
            .end('{"ok":true}');
        }
      });
    });
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/`;
  });
  afterAll(async () => {
    await new Promise(resolve => server.close(resolve));
  });

  it('sends the token and JSON body under /api/image-automation, and names failures', async () => {
    const client = new BackendClient({ baseUrl: url, token: 't0k' });
    expect(
      await client.post('/objects/a/b/c/suspend', 'x', { reason: 'r' }),
    ).toEqual({ ok: true });
    expect(seen.at(-1)).toEqual({
      method: 'POST',
      url: '/api/image-automation/objects/a/b/c/suspend',
      authorization: 'Bearer t0k',
      body: '{"reason":"r"}',
    });
    await expect(client.get('/missing', 'ImagePolicy/apps/x')).rejects.toThrow(
      new CliError('not found: ImagePolicy/apps/x: no automation object x'),
    );
    await expect(client.get('/html', 'x')).rejects.toThrow(
      `the backend at ${url.slice(
        0,
        -1,
      )} answered 502: <html><body>Bad gateway</body></html>`,
    );
    await expect(client.get('/text', 'x')).rejects.toThrow(
      'with something that is not JSON (is --backend-url the backend',
    );
    const anonymous = new BackendClient({ baseUrl: url });
    await anonymous.get('/ok', 'x');
    expect(seen.at(-1)?.authorization).toBeUndefined();
  });
});

describe('promotionTable', () => {
  it('shows the gates still waiting, or the error', () => {
    const p = {
      id: 'p1',
      entityRef: 'component:default/web',
      target: {
        id: 'git:ImageUpdateAutomation/a/b',
        type: 'git',
        objectId: 'ImageUpdateAutomation/a/b',
      },
      subject: 'ImagePolicy/a/web',
      from: { tag: '1.0.0' },
      to: { tag: '1.1.0', digest: `sha256:${'ab'.repeat(32)}` },
      state: 'pending',
      gates: [
        {
          gate: 'approval',
          state: 'waiting',
          summary: 'approval 0/1',
          evidence: {},
        },
        { gate: 'soak', state: 'passed', summary: 'soaked', evidence: {} },
      ],
    } as any;
    expect(
      promotionTable(
        [
          p,
          { ...p, id: 'p2', gates: [], state: 'failed', error: 'push refused' },
        ],
        { entities: true },
      )
        .split('\n')
        .map(l => l.split('\t').map(s => s.trim())),
    ).toEqual([
      ['ID', 'ENTITY', 'SUBJECT', 'TARGET', 'FROM', 'TO', 'STATE', 'GATES'],
      [
        'p1',
        'component:default/web',
        'ImagePolicy/a/web',
        'git:ImageUpdateAutomation/a/b',
        '1.0.0',
        `1.1.0@sha256:${'ab'.repeat(6)}`,
        'pending',
        'approval 0/1',
      ],
      [
        'p2',
        'component:default/web',
        'ImagePolicy/a/web',
        'git:ImageUpdateAutomation/a/b',
        '1.0.0',
        `1.1.0@sha256:${'ab'.repeat(6)}`,
        'failed',
        'error: push refused',
      ],
      [''],
    ]);
  });
});

describe('tree', () => {
  it('draws ResourceSets with their providers and what they applied per cluster, and leaves the rest as roots', () => {
    const objects = [
      view({
        kind: 'ResourceSetInputProvider',
        namespace: 'apps',
        name: 'images',
        status: {
          ...ready('ok'),
          lastExportedRevision: `sha256:${'1'.repeat(64)}`,
        },
      }),
      view({
        kind: 'ResourceSet',
        namespace: 'apps',
        name: 'tenants',
        spec: {
          inputsFrom: [
            { name: 'images' },
            { selector: { matchLabels: { a: 'b' } } },
          ],
        },
        status: {
          ...ready('Reconciliation finished', 'False'),
          lastAppliedRevision: `sha256:${'2'.repeat(64)}`,
        },
      }),
      view({
        kind: 'GitRepository',
        namespace: 'apps',
        name: 'unused',
        suspended: true,
      }),
    ];
    const inventories = new Map([
      [
        'ResourceSet/apps/tenants',
        {
          id: 'ResourceSet/apps/tenants',
          clusters: [
            {
              cluster: 'staging',
              state: 'applied' as const,
              lastAppliedRevision: `sha256:${'2'.repeat(64)}`,
              updatedAt: '2026-01-01T00:00:00Z',
              entries: [
                { apiVersion: 'v1', kind: 'Namespace', name: 'team-a' },
                {
                  apiVersion: 'apps/v1',
                  kind: 'Deployment',
                  namespace: 'team-a',
                  name: 'web',
                },
              ],
            },
          ],
        },
      ],
    ]);
    expect(
      drawTree(buildTree('component:default/web', objects, inventories)),
    ).toBe(
      [
        'component:default/web',
        `├── ResourceSet/apps/tenants  Not ready: Reconciliation finished  sha256:${'2'.repeat(
          12,
        )}`,
        `│   ├── ResourceSetInputProvider/apps/images  Ready  sha256:${'1'.repeat(
          12,
        )}`,
        '│   ├── inputs from providers matching {"matchLabels":{"a":"b"}}',
        `│   └── cluster staging  applied  revision sha256:${'2'.repeat(12)}`,
        '│       ├── Namespace/team-a  v1',
        '│       └── Deployment/team-a/web  apps/v1',
        '└── GitRepository/apps/unused  Suspended',
        '',
      ].join('\n'),
    );
  });
  it('says why an inventory is missing', () => {
    const rset = view({ kind: 'ResourceSet', namespace: 'a', name: 'b' });
    const tree = buildTree(
      'component:default/x',
      [rset],
      new Map([[rset.id, { error: 'forbidden: no' }]]),
    );
    expect(drawTree(tree)).toBe(
      'component:default/x\n└── ResourceSet/a/b  Unknown\n    └── inventory unavailable  forbidden: no\n',
    );
  });
});

describe('the command table', () => {
  it('lists every command of every area, with the summary the area gives it', async () => {
    const loaded = await loadAllCommands();
    expect(Object.keys(COMMANDS).sort()).toEqual(Object.keys(loaded).sort());
    for (const [name, entry] of Object.entries(COMMANDS)) {
      expect([name, entry.summary]).toEqual([name, loaded[name].summary]);
    }
  });
});
