import request from 'supertest';
import { mockCredentials } from '@backstage/backend-test-utils';
import { pushImage, startRegistry, TestRegistry } from '../../testbed';
import { eventually, startBackend } from './backendHarness';

jest.setTimeout(120_000);

const PASSWORD = 's3cr3t-registry-password';
const WRONG_PASSWORD = 'n0t-the-right-one';

const catalog = `
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: shop
  annotations:
    image-automation.io/manifests: ./shop.yaml
spec: { type: service, lifecycle: production, owner: group:default/team }
`;

function repository(name: string, host: string, extra: string) {
  return `
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata: { name: ${name}, namespace: shop }
spec:
  image: ${host}/shop/web
  interval: 1h
  timeout: 10s
${extra}
---`;
}

describe('named credentials against a registry with Basic auth over TLS', () => {
  let registry: TestRegistry;
  beforeAll(async () => {
    registry = await startRegistry({
      htpasswd: { username: 'ci', password: PASSWORD },
      tls: true,
    });
    await pushImage(registry, 'shop/web', ['1.0.0', '1.1.0']);
  });
  afterAll(async () => {
    await registry?.stop();
  });

  it('uses secretRef and certSecretRef credentials, and never shows a secret', async () => {
    const host = registry.host;
    const manifests = [
      repository(
        'good',
        host,
        '  secretRef: { name: registry }\n  certSecretRef: { name: registry-ca }',
      ),
      repository(
        'wrong-password',
        host,
        '  secretRef: { name: wrong }\n  certSecretRef: { name: registry-ca }',
      ),
      repository('no-ca', host, '  secretRef: { name: registry }'),
      repository(
        'not-allowed',
        host,
        '  secretRef: { name: other-team }\n  certSecretRef: { name: registry-ca }',
      ),
      repository('undefined', host, '  secretRef: { name: nowhere }'),
      repository(
        'elsewhere',
        host,
        '  secretRef: { name: bound-elsewhere }\n  certSecretRef: { name: registry-ca }',
      ),
      repository(
        'ungranted',
        host,
        '  secretRef: { name: granted-to-nobody }\n  certSecretRef: { name: registry-ca }',
      ),
    ].join('\n');
    // #13: every credential names the entities that may use it and the hosts it may be sent to.
    const mine = { allowedEntities: ['component:default/shop'], hosts: [host] };
    const backend = await startBackend({
      files: { 'catalog.yaml': catalog, 'shop.yaml': manifests },
      config: {
        credentials: {
          registry: {
            type: 'basic',
            username: 'ci',
            password: PASSWORD,
            ...mine,
          },
          wrong: {
            type: 'basic',
            username: 'ci',
            password: WRONG_PASSWORD,
            ...mine,
          },
          'registry-ca': {
            type: 'tls',
            ca: registry.certificates!.ca,
            ...mine,
          },
          'other-team': {
            type: 'basic',
            username: 'ci',
            password: PASSWORD,
            allowedEntities: ['component:default/payments'],
            hosts: [host],
          },
          'bound-elsewhere': {
            type: 'basic',
            username: 'ci',
            password: PASSWORD,
            ...mine,
            hosts: ['registry.example.com'],
          },
          'granted-to-nobody': {
            type: 'basic',
            username: 'ci',
            password: PASSWORD,
            hosts: [host],
          },
        },
      },
    });
    try {
      const user = mockCredentials.user.header();
      const list = async () =>
        (
          await request(backend.server)
            .get(
              '/api/image-automation/entities/component/default/shop/objects',
            )
            .set('Authorization', user)
        ).body.items as any[];
      await eventually(async () => {
        await backend.sync();
        return (await list()).length === 7 ? true : undefined;
      });
      await backend.reconcile();
      const objects = Object.fromEntries((await list()).map(o => [o.name, o]));
      const ready = (name: string) =>
        objects[name].status.conditions.find((c: any) => c.type === 'Ready');

      expect(ready('good')).toMatchObject({
        status: 'True',
        message: expect.stringMatching(/^successful scan: found 2 tags/),
      });
      expect(ready('wrong-password')).toMatchObject({
        status: 'False',
        reason: 'ReadOperationFailed',
      });
      expect(ready('wrong-password').message).toMatch(
        /UNAUTHORIZED|401|authentication/i,
      );
      expect(ready('no-ca')).toMatchObject({
        status: 'False',
        reason: 'ReadOperationFailed',
      });
      expect(ready('no-ca').message).toMatch(/certificate/i);
      expect(ready('not-allowed')).toMatchObject({
        status: 'False',
        reason: 'AuthenticationFailed',
        message:
          "failed to configure authentication options: credential 'other-team' is not granted to component:default/shop (imageAutomation.credentials.other-team.allowedEntities)",
      });
      expect(ready('elsewhere')).toMatchObject({
        status: 'False',
        reason: 'AuthenticationFailed',
        message: `failed to configure authentication options: credential 'bound-elsewhere' may not be sent to ${host}/shop/web: it is bound to registry.example.com (imageAutomation.credentials.bound-elsewhere.hosts)`,
      });
      expect(ready('ungranted').message).toBe(
        "failed to configure authentication options: credential 'granted-to-nobody' is not granted to component:default/shop: imageAutomation.credentials.granted-to-nobody.allowedEntities is not set, so no entity may use it",
      );
      expect(ready('undefined').message).toBe(
        "failed to configure authentication options: credential 'nowhere' is not defined in imageAutomation.credentials",
      );

      // No password in anything the API returns: objects, scans, events.
      const everything: string[] = [JSON.stringify(await list())];
      for (const name of Object.keys(objects)) {
        for (const what of ['scans', 'events']) {
          const res = await request(backend.server)
            .get(
              `/api/image-automation/objects/ImageRepository/shop/${name}/${what}`,
            )
            .set('Authorization', user);
          everything.push(JSON.stringify(res.body));
        }
      }
      const text = everything.join('\n');
      expect(text).toContain('wrong-password');
      expect(text).not.toContain(PASSWORD);
      expect(text).not.toContain(WRONG_PASSWORD);
      expect(text).not.toContain(
        Buffer.from(`ci:${PASSWORD}`).toString('base64'),
      );
      expect(text).not.toContain(
        Buffer.from(`ci:${WRONG_PASSWORD}`).toString('base64'),
      );
    } finally {
      await backend.stop();
    }
  });
});
