import { createHash } from 'node:crypto';
import { ConfigReader } from '@backstage/config';
import { NamedCredentials } from '../credentials/NamedCredentials';
import { StoredObject } from '../store/ObjectStore';
import { ReceiverReconciler, webhookPath } from './ReceiverReconciler';

/*
 * The Receiver's status as Flux's notification-controller writes it (webhookPath, Ready
 * "Receiver initialized for path: …"), and a Stalled condition naming the cause for what cannot
 * work here: a credential that is missing, of another type or not granted, a type, kind or field
 * this plugin does not implement.
 */

const TOKEN = 'tok-3b1d';
const credentials = NamedCredentials.fromConfig(
  new ConfigReader({
    imageAutomation: {
      credentials: {
        hook: {
          type: 'token',
          token: TOKEN,
          allowedEntities: ['component:default/shop'],
        },
        basic: {
          type: 'basic',
          username: 'u',
          password: 'p',
          allowedEntities: ['component:default/shop'],
        },
      },
    },
  }),
);
const now = new Date('2030-01-01T00:00:00Z');

function receiver(
  spec: Record<string, unknown>,
  extra: Partial<StoredObject> = {},
): StoredObject {
  return {
    id: 'Receiver/shop/hook',
    apiVersion: 'notification.toolkit.fluxcd.io/v1',
    kind: 'Receiver',
    namespace: 'shop',
    name: 'hook',
    entityRef: 'component:default/shop',
    sourceKey: 'catalog:component:default/shop',
    source: {
      type: 'catalog',
      location: 'url:https://example.com/catalog-info.yaml',
    },
    manifest: {
      apiVersion: 'notification.toolkit.fluxcd.io/v1',
      kind: 'Receiver',
      metadata: { name: 'hook', namespace: 'shop' },
      spec: {
        type: 'github',
        secretRef: { name: 'hook' },
        resources: [{ kind: 'ImageRepository', name: 'app' }],
        ...spec,
      },
    },
    generation: 1,
    status: {},
    suspended: false,
    nextRunAt: now.toISOString(),
    ...extra,
  };
}

const reconcile = (object: StoredObject) =>
  new ReceiverReconciler({ credentials }).reconcile(object, now);
const condition = (status: any, type: string) =>
  status.conditions?.find((c: any) => c.type === type);

describe('ReceiverReconciler', () => {
  it('derives the webhook path from token, name and namespace as Flux does', async () => {
    const expected = `/hook/${createHash('sha256')
      .update(`${TOKEN}hookshop`)
      .digest('hex')}`;
    expect(webhookPath(TOKEN, 'hook', 'shop')).toBe(expected);
    const result = await reconcile(receiver({ interval: '30m' }));
    expect(result.status.webhookPath).toBe(expected);
    expect(condition(result.status, 'Ready')).toMatchObject({
      status: 'True',
      reason: 'Succeeded',
      message: `Receiver initialized for path: ${expected}`,
    });
    expect(result.requeueAfterMs).toBe(30 * 60_000);
    expect((await reconcile(receiver({}))).requeueAfterMs).toBe(10 * 60_000);
  });

  it.each([
    [
      'missing',
      'nothing',
      "credential 'nothing' is not defined in imageAutomation.credentials",
      undefined,
    ],
    [
      'of another type',
      'basic',
      "credential 'basic' is not of type token, as a Receiver's secretRef needs",
      undefined,
    ],
    [
      'not granted',
      'hook',
      "credential 'hook' is not granted to component:default/other (imageAutomation.credentials.hook.allowedEntities)",
      'component:default/other',
    ],
  ])(
    'is Stalled TokenNotFound when the credential is %s, and drops the path',
    async (_, name, cause, entityRef) => {
      const object = receiver(
        { secretRef: { name } },
        {
          ...(entityRef ? { entityRef } : {}),
          status: { webhookPath: '/hook/old' },
        },
      );
      const result = await reconcile(object);
      expect(result.status.webhookPath).toBeUndefined();
      expect(condition(result.status, 'Stalled')).toMatchObject({
        status: 'True',
        reason: 'TokenNotFound',
        message: `unable to read token from credential '${name}': ${cause}`,
      });
      expect(JSON.stringify(result.status)).not.toContain(TOKEN);
    },
  );

  it.each([
    [
      { type: 'cdevents' },
      'ReceiverTypeNotSupported',
      /^receiver type 'cdevents' is not supported/,
    ],
    [
      { type: 'bogus' },
      'InvalidManifest',
      /spec\.type: Unsupported value: "bogus"/,
    ],
    [
      { resourceFilter: 'true' },
      'FieldNotSupported',
      /^spec\.resourceFilter \(CEL\) is not supported/,
    ],
    [
      { resources: [{ kind: 'Kustomization', name: 'apps' }] },
      'ResourceKindNotSupported',
      /^spec\.resources\[0\]: kind 'Kustomization' is not reconciled/,
    ],
    [
      { resources: [{ kind: 'ImageRepository', name: '*' }] },
      'InvalidManifest',
      /matchLabels field not set when using wildcard '\*' as name$/,
    ],
    [
      { resources: [{ kind: 'ResourceSetInputProvider', name: 'tags' }] },
      'InvalidManifest',
      /apiVersion must be specified for kind "ResourceSetInputProvider"$/,
    ],
    [
      {
        resources: [
          {
            kind: 'GitRepository',
            name: 'r',
            apiVersion: 'image.toolkit.fluxcd.io/v1',
          },
        ],
      },
      'InvalidManifest',
      /is not a version of GitRepository/,
    ],
  ])('is Stalled for %j', async (spec, reason, message) => {
    const result = await reconcile(receiver(spec));
    expect(condition(result.status, 'Stalled')).toMatchObject({
      status: 'True',
      reason,
      message: expect.stringMatching(message),
    });
    expect(result.status.webhookPath).toBeUndefined();
  });

  it('accepts every kind it can make due, with wildcards and labels', async () => {
    const result = await reconcile(
      receiver({
        resources: [
          { kind: 'ImageRepository', name: '*', matchLabels: { team: 'shop' } },
          { kind: 'ImagePolicy', name: 'app' },
          { kind: 'ImageUpdateAutomation', name: 'app', namespace: 'shop' },
          {
            kind: 'GitRepository',
            name: 'fleet',
            apiVersion: 'source.toolkit.fluxcd.io/v1',
          },
          {
            kind: 'ResourceSetInputProvider',
            name: 'tags',
            apiVersion: 'fluxcd.controlplane.io/v1',
          },
        ],
      }),
    );
    expect(condition(result.status, 'Ready')).toMatchObject({ status: 'True' });
  });

  it('keeps its path while suspended (calls are then answered 503, as Flux does)', async () => {
    const result = await reconcile(
      receiver({ suspend: true }, { status: { webhookPath: '/hook/kept' } }),
    );
    expect(result.status.webhookPath).toBe('/hook/kept');
  });
});
