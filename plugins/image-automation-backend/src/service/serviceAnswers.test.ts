import { mockCredentials, TestDatabases } from '@backstage/backend-test-utils';
import { AutomationObject } from '@imageops/backstage-plugin-image-automation-common';
import { DatabaseEventStore } from '../store/DatabaseEventStore';
import { DatabaseObjectStore } from '../store/DatabaseObjectStore';
import { DatabaseScanStore } from '../store/DatabaseScanStore';
import { DefaultObjectService } from './DefaultObjectService';
import { validatePreviewSpec } from './explainPolicy';
import { HealthCheck } from './HealthCheck';
import { actorOf, suspensionOfEvent } from './ObjectService';
import { parseTimelineQuery } from './TimelineService';

// What the services answer at their edges: who an action is recorded as, a suspension read back
// from its event, refusals of a timeline cursor, a policy preview's spec and reads of the wrong
// kind, and when the engine counts as stalled. Real stores (SQLite) where a store is read.

const databases = TestDatabases.create({
  ids: ['SQLITE_3'],
  disableDocker: true,
});

describe('service answers', () => {
  it('records an action as the user, the calling service, or the kind of principal', () => {
    expect(actorOf(mockCredentials.user('user:default/jane'))).toBe(
      'user:default/jane',
    );
    expect(actorOf(mockCredentials.service('plugin:catalog'))).toBe(
      'plugin:catalog',
    );
    const principal = (value: Record<string, unknown>) =>
      ({ $$type: '@backstage/BackstageCredentials', principal: value } as any);
    expect(actorOf(principal({ type: 'user' }))).toBe('user');
    expect(actorOf(principal({ type: 'service' }))).toBe('service');
    expect(actorOf(principal({ type: 'none', subject: 'x' }))).toBe('none');
    expect(
      actorOf(principal({ type: 'service', userEntityRef: 'user:default/x' })),
    ).toBe('service');
  });

  it('reads who suspended or resumed an object from its event, and nobody from a message of another form', () => {
    const event = (reason: string, message: string) => ({
      id: 1,
      objectId: 'ImagePolicy/apps/web',
      time: '2026-06-01T12:00:00.000Z',
      type: 'Normal' as const,
      reason,
      message,
    });
    expect(
      suspensionOfEvent(
        event('Suspended', 'user:default/jane suspended ImagePolicy/apps/web'),
      ),
    ).toEqual({ action: 'suspend', actor: 'user:default/jane' });
    expect(
      suspensionOfEvent(event('Resumed', 'resumed by the platform team')),
    ).toEqual({ action: 'resume' });
    expect(
      suspensionOfEvent(
        event('Reconciled', 'user:default/jane suspended ImagePolicy/apps/web'),
      ),
    ).toBeUndefined();
  });

  it('refuses a timeline cursor it did not hand out', () => {
    const cursor = (value: unknown) =>
      Buffer.from(JSON.stringify(value)).toString('base64url');
    const good = cursor(['2026-06-01T12:00:00.000Z', 'scan:1:1.0.0']);
    expect(parseTimelineQuery({ cursor: good }).cursor).toBe(good);
    for (const bad of [
      cursor([1780315200000, 'scan:1:1.0.0']),
      cursor(['2026-06-01T12:00:00.000Z', 7]),
      cursor(['yesterday', 'scan:1:1.0.0']),
      cursor(['2026-06-01T12:00:00.000Z']),
      'not base64 json',
    ]) {
      expect(() => parseTimelineQuery({ cursor: bad })).toThrow(
        `cursor is not one this endpoint returned: '${bad}'`,
      );
    }
  });

  it("names the preview's fields that are invalid, as the API server would", () => {
    expect(() => validatePreviewSpec('apps', { policy: {} })).toThrow(
      /^ImagePolicy "preview" is invalid: \S/,
    );
  });

  it('refuses to read an object as a kind it is not, and inventories it was not given', async () => {
    const knex = await databases.init('SQLITE_3');
    const objects = await DatabaseObjectStore.create({ knex });
    const service = new DefaultObjectService({
      objects,
      scans: await DatabaseScanStore.create({ knex, skipMigrations: true }),
      events: await DatabaseEventStore.create({ knex, skipMigrations: true }),
    });
    const manifest = (kind: string, apiVersion: string) =>
      ({
        apiVersion,
        kind,
        metadata: { name: 'web', namespace: 'apps' },
        spec: {},
      } as AutomationObject);
    await objects.syncSource('apps', [
      {
        manifest: manifest('ImageRepository', 'image.toolkit.fluxcd.io/v1'),
        source: { type: 'config', location: 'apps' },
      },
      {
        manifest: manifest('ResourceSet', 'fluxcd.controlplane.io/v1'),
        source: { type: 'config', location: 'apps' },
      },
    ]);
    await expect(
      service.resourceSetInventory('ImageRepository/apps/web'),
    ).rejects.toMatchObject({
      name: 'InputError',
      message: 'ImageRepository/apps/web is not a ResourceSet',
    });
    await expect(
      service.resourceSetInventory('ResourceSet/apps/web'),
    ).rejects.toMatchObject({
      name: 'NotImplementedError',
      message: 'ResourceSet inventories are not available',
    });
    await expect(
      service.explainPolicy('ImageRepository/apps/web'),
    ).rejects.toMatchObject({
      name: 'InputError',
      message: 'ImageRepository/apps/web is not an ImagePolicy',
    });
  });

  it('counts the engine as stalled only once it made no progress for longer than allowed', async () => {
    const knex = await databases.init('SQLITE_3');
    const now = new Date('2026-06-01T12:00:00.000Z');
    const check = (sinceProgressMs: number) =>
      new HealthCheck({
        ping: () => knex.raw('select 1'),
        engine: {
          activity: () => ({
            lastPassAt: now,
            lastProgressAt: new Date(now.getTime() - sinceProgressMs),
          }),
        },
        stalledAfterMs: 60_000,
        now: () => now,
      }).check();
    expect(await check(60_000)).toMatchObject({
      status: 'ok',
      engine: { status: 'ok' },
    });
    expect(await check(60_001)).toMatchObject({
      status: 'degraded',
      engine: { status: 'stalled' },
    });
  });
});
