import { InputError, NotFoundError } from '@backstage/errors';
import { DatabaseEventStore } from '../store/DatabaseEventStore';
import { DatabaseObjectStore } from '../store/DatabaseObjectStore';
import { DatabaseScanStore } from '../store/DatabaseScanStore';
import { createStoreTestDatabases } from '../store/testDatabases';
import { DefaultObjectService } from './DefaultObjectService';

jest.setTimeout(60_000);

const databases = createStoreTestDatabases();
const REPOSITORY = 'ImageRepository/apps/web';
const DIGEST = `sha256:${'a'.repeat(64)}`;
const FIRST_SCAN = new Date('2030-01-01T00:00:00.000Z');
const SECOND_SCAN = new Date('2030-01-02T00:00:00.000Z');
const POLICY_SPEC = {
  imageRepositoryRef: { name: 'web' },
  policy: { semver: { range: '>=1.0.0 <2.0.0' } },
  filterTags: { pattern: '^rel-(.*)$', extract: '$1' },
};

describe.each(databases.eachSupportedId())(
  'explaining ImagePolicies on %p',
  databaseId => {
    async function createService() {
      const knex = await databases.init(databaseId);
      const objects = await DatabaseObjectStore.create({ knex });
      const scans = await DatabaseScanStore.create({
        knex,
        skipMigrations: true,
      });
      const events = await DatabaseEventStore.create({
        knex,
        skipMigrations: true,
      });
      const source = { type: 'config' as const, location: 'file:///apps.yaml' };
      await objects.syncSource('s', [
        {
          manifest: {
            apiVersion: 'image.toolkit.fluxcd.io/v1',
            kind: 'ImageRepository',
            metadata: { name: 'web', namespace: 'apps' },
            spec: {
              image: 'ghcr.io/acme/web',
              interval: '5m',
              exclusionList: ['^.*-sig$'],
            },
          },
          source,
        },
        {
          manifest: {
            apiVersion: 'image.toolkit.fluxcd.io/v1',
            kind: 'ImagePolicy',
            metadata: { name: 'web', namespace: 'apps' },
            spec: POLICY_SPEC,
          },
          source,
        },
      ]);
      const scan = (startedAt: Date, tags: string[]) =>
        scans.recordScan({
          objectId: REPOSITORY,
          startedAt,
          durationMs: 5,
          requests: 1,
          tags,
          revision: String(tags.length),
        });
      await scan(FIRST_SCAN, ['rel-1.0.0', 'rel-1.2.0', 'latest']);
      await scan(SECOND_SCAN, [
        'rel-1.0.0',
        'rel-1.2.0',
        'latest',
        'rel-2.0.0',
        'rel-',
      ]);
      await scans.setDigest(REPOSITORY, 'rel-1.2.0', DIGEST);
      return new DefaultObjectService({ objects, scans, events });
    }

    it('gives every stored tag its verdict, digest and first-seen time, and the exclusion list', async () => {
      const service = await createService();
      const explanation = await service.explainPolicy('ImagePolicy/apps/web');

      expect(explanation.repositoryId).toBe(REPOSITORY);
      expect(explanation.selection).toEqual({ ok: true, tag: 'rel-1.2.0' });
      expect(explanation.exclusionList).toEqual(['^.*-sig$']);
      const byTag = Object.fromEntries(
        explanation.verdicts.map(v => [v.tag, v]),
      );
      expect(Object.keys(byTag).sort()).toEqual([
        'latest',
        'rel-',
        'rel-1.0.0',
        'rel-1.2.0',
        'rel-2.0.0',
      ]);
      expect(byTag['rel-1.2.0']).toMatchObject({
        verdict: 'selected',
        digest: DIGEST,
        firstSeenAt: FIRST_SCAN.toISOString(),
      });
      expect(byTag['rel-1.0.0']).toMatchObject({
        verdict: 'eligible',
        detail: 'extracted "1.0.0"; older than rel-1.2.0',
      });
      expect(byTag['rel-1.0.0'].digest).toBeUndefined();
      expect(byTag['rel-2.0.0']).toMatchObject({
        verdict: 'out-of-range',
        firstSeenAt: SECOND_SCAN.toISOString(),
      });
      expect(byTag.latest).toMatchObject({
        verdict: 'filtered-out',
        sentence: 'Does not match filterTags.pattern.',
      });
      expect(byTag['rel-']).toEqual({
        tag: 'rel-',
        verdict: 'extract-empty',
        sentence:
          'filterTags.extract produced an empty string, which is not a version.',
        firstSeenAt: SECOND_SCAN.toISOString(),
      });
    });

    it('previews an unsaved spec against the same tags', async () => {
      const service = await createService();

      const wider = await service.previewPolicy({
        namespace: 'apps',
        spec: { ...POLICY_SPEC, policy: { semver: { range: '>=1.0.0' } } },
      });
      expect(wider.selection).toEqual({ ok: true, tag: 'rel-2.0.0' });
      expect(wider.verdicts.find(v => v.tag === 'rel-1.2.0')).toMatchObject({
        verdict: 'eligible',
        digest: DIGEST,
      });

      // Alphabetical order admits an empty value: it is a candidate, not "no version".
      const alphabetical = await service.previewPolicy({
        namespace: 'apps',
        spec: { ...POLICY_SPEC, policy: { alphabetical: { order: 'asc' } } },
      });
      expect(
        alphabetical.verdicts.find(v => v.tag === 'rel-')?.verdict,
      ).not.toBe('extract-empty');

      const invalidRange = await service.previewPolicy({
        namespace: 'apps',
        spec: {
          ...POLICY_SPEC,
          policy: { semver: { range: 'one point two' } },
        },
      });
      expect(invalidRange.selection).toMatchObject({
        ok: false,
        reason: 'InvalidPolicy',
      });
      expect(
        invalidRange.verdicts.every(v => v.verdict === 'not-evaluated'),
      ).toBe(true);
    });

    it('refuses a spec that is not an ImagePolicy spec, or names no stored repository', async () => {
      const service = await createService();
      await expect(
        service.previewPolicy({
          namespace: 'apps',
          spec: { imageRepositoryRef: { name: 'web' }, policy: { semver: {} } },
        }),
      ).rejects.toThrow(InputError);
      await expect(
        service.previewPolicy({
          namespace: 'apps',
          spec: { ...POLICY_SPEC, imageRepositoryRef: { name: 'gone' } },
        }),
      ).rejects.toThrow(
        new NotFoundError(
          'the referenced ImageRepository ImageRepository/apps/gone does not exist',
        ),
      );
    });

    it('refuses an over-long filterTags.pattern with a 400 before compiling it (issue #13)', async () => {
      const service = await createService();
      // ~33 KB: compiled for 10 s and 1.8 GB before the size limit.
      const hostile = '[\\p{L}]{1000}'.repeat(2600);
      const start = Date.now();
      const preview = service.previewPolicy({
        namespace: 'apps',
        spec: { ...POLICY_SPEC, filterTags: { pattern: hostile } },
      });
      await expect(preview).rejects.toThrow(InputError);
      await expect(preview).rejects.toThrow(
        `ImagePolicy preview: spec.filterTags.pattern: error parsing regexp: expression too long: ${hostile.length} characters, the limit is 4096`,
      );
      expect(Date.now() - start).toBeLessThan(1000);
      // A short pattern that expands to a huge program is refused the same way.
      await expect(
        service.previewPolicy({
          namespace: 'apps',
          spec: {
            ...POLICY_SPEC,
            filterTags: { pattern: '(?:[a-z]{1000}){0,}'.repeat(30) },
          },
        }),
      ).rejects.toThrow(
        /spec\.filterTags\.pattern: error parsing regexp: expression too large/,
      );
      // The neighbour: the stored policy still previews.
      expect(
        (await service.previewPolicy({ namespace: 'apps', spec: POLICY_SPEC }))
          .selection,
      ).toEqual({ ok: true, tag: 'rel-1.2.0' });
    });
  },
);
