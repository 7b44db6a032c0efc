/**
 * The versions route of an entity (`GET /entities/:kind/:namespace/:name/versions`, i.e.
 * `VersionsService.versions`) on a real PostgreSQL (the test bed's throwaway server on 127.0.0.1,
 * started and stopped here): one entity with 20 images × 10 targets (20 ImageRepositories, 20 semver
 * ImagePolicies with a latestRef, 10 ImageUpdateAutomations with one marker per policy = 200 rows),
 * 500 tags per repository (10,000), 1,000,000 scan-history rows over these and 180 other repositories,
 * one open promotion per row plus 6,000 closed ones, and a few pins; ANALYZEd.
 * Requirement: p95 < 100 ms over 200 calls after a warm-up.
 *
 * The peer measured in the same run is a floor, not another implementation: the raw reads of the same
 * rows (the entity's objects, the present tags of its 20 repositories, the open promotions and the pins
 * of its 10 targets) as 4 plain knex queries per call, with no computation. Calls alternate ours/floor.
 * A last phase repeats `versions()` with every store call timed, to show where the time goes.
 *
 *   node --require @backstage/cli-node/config/nodeTransform.cjs bench/versions-route.ts
 */
import {
  BackstageCredentials,
  PermissionsService,
} from '@backstage/backend-plugin-api';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import {
  objectId,
  OPEN_PROMOTION_STATES,
  parseObjectId,
} from '@imageops/backstage-plugin-image-automation-common';
import knexFactory, { Knex } from 'knex';
import { VersionsService } from '../plugins/image-automation-backend/src/service/VersionsService';
import { DatabaseObjectStore } from '../plugins/image-automation-backend/src/store/DatabaseObjectStore';
import { DatabasePromotionStore } from '../plugins/image-automation-backend/src/store/DatabasePromotionStore';
import { DatabaseScanStore } from '../plugins/image-automation-backend/src/store/DatabaseScanStore';
import { DeclaredObject } from '../plugins/image-automation-backend/src/store/ObjectStore';
import { startPostgres, TestPostgres } from '../test/testbed/postgres';

const ENTITY = 'component:default/bench';
const NAMESPACE = 'bench';
const IMAGES = 20;
const TARGETS = 10;
const TAGS_PER_REPOSITORY = 500;
const OTHER_REPOSITORIES = 180;
const SCANS = 1_000_000;
/** Closed promotions per (target, image) of the entity, and of other entities' targets. */
const CLOSED_PER_ROW = 20;
const OTHER_CLOSED = 2_000;
const WARMUP = 20;
const CALLS = 200;
const PROFILED_CALLS = 50;
const TARGET_P95_MS = 100;

const OBJECTS = 'image_automation_objects';
const TAGS = 'image_automation_tags';
const SCAN_TABLE = 'image_automation_scans';
const PROMOTIONS = 'image_automation_promotions';
const PINS = 'image_automation_promotion_pins';

const pad = (n: number) => String(n).padStart(2, '0');
const imageName = (i: number) => `app-${pad(i)}`;
const image = (i: number) => `ghcr.io/acme/${imageName(i)}`;
const automationName = (t: number) => `target-${pad(t)}`;
const repositoryId = (i: number) =>
  objectId('ImageRepository', NAMESPACE, imageName(i));
const automationId = (t: number) =>
  objectId('ImageUpdateAutomation', NAMESPACE, automationName(t));
const targetId = (t: number) => `git:${automationId(t)}`;
const subject = (i: number) => objectId('ImagePolicy', NAMESPACE, imageName(i));
const digest = (seed: string) =>
  `sha256:${Buffer.from(seed).toString('hex').padEnd(64, '0').slice(0, 64)}`;
/** The tag a target carries for an image: targets are spread over the minors, so most are behind. */
const deployedTag = (i: number, t: number) => `1.${t}.${(i * 7 + t) % 49}`;

function entityObjects(): DeclaredObject[] {
  const source = {
    type: 'catalog' as const,
    location: 'url:https://git.example.com/acme/bench/catalog-info.yaml',
  };
  const objects: DeclaredObject[] = [];
  const ranges = ['>=1.0.0', '1.x', '>=1.2.0 <1.9.0', '^1.0.0'];
  for (let i = 0; i < IMAGES; i++) {
    objects.push({
      entityRef: ENTITY,
      source,
      manifest: {
        apiVersion: 'image.toolkit.fluxcd.io/v1',
        kind: 'ImageRepository',
        metadata: { name: imageName(i), namespace: NAMESPACE },
        spec: { image: image(i), interval: '5m' },
      } as DeclaredObject['manifest'],
    });
    objects.push({
      entityRef: ENTITY,
      source,
      manifest: {
        apiVersion: 'image.toolkit.fluxcd.io/v1',
        kind: 'ImagePolicy',
        metadata: { name: imageName(i), namespace: NAMESPACE },
        spec: {
          imageRepositoryRef: { name: imageName(i) },
          policy: { semver: { range: ranges[i % ranges.length] } },
        },
      } as DeclaredObject['manifest'],
    });
  }
  for (let t = 0; t < TARGETS; t++) {
    objects.push({
      entityRef: ENTITY,
      source,
      manifest: {
        apiVersion: 'image.toolkit.fluxcd.io/v1',
        kind: 'ImageUpdateAutomation',
        metadata: { name: automationName(t), namespace: NAMESPACE },
        spec: {
          interval: '5m',
          sourceRef: { kind: 'GitRepository', name: 'fleet' },
          git: {
            checkout: { ref: { branch: 'main' } },
            commit: { author: { name: 'bot', email: 'bot@example.com' } },
          },
          update: {
            path: `./clusters/${automationName(t)}`,
            strategy: 'Setters',
          },
        },
      } as DeclaredObject['manifest'],
    });
  }
  return objects;
}

function otherRepositories(): DeclaredObject[] {
  return Array.from({ length: OTHER_REPOSITORIES }, (_, i) => ({
    entityRef: `component:default/other-${i % 30}`,
    source: {
      type: 'catalog' as const,
      location: `url:https://git.example.com/acme/other-${
        i % 30
      }/catalog-info.yaml`,
    },
    manifest: {
      apiVersion: 'image.toolkit.fluxcd.io/v1',
      kind: 'ImageRepository',
      metadata: {
        name: `other-${String(i).padStart(3, '0')}`,
        namespace: 'others',
      },
      spec: { image: `ghcr.io/acme/other-${i}`, interval: '5m' },
    } as DeclaredObject['manifest'],
  }));
}

async function seed(
  knex: Knex,
  promotions: DatabasePromotionStore,
  objects: DatabaseObjectStore,
) {
  const now = new Date();
  const ready = [
    {
      type: 'Ready',
      status: 'True',
      reason: 'Succeeded',
      message: 'ok',
      lastTransitionTime: now.toISOString(),
    },
  ];
  // The entity's namespace is granted to it (imageAutomation.tenancy), as the catalog sync records.
  await objects.syncSource(
    `catalog:${ENTITY}`,
    entityObjects().map(o => ({ ...o, grantedNamespaces: [NAMESPACE] })),
  );
  await objects.syncSource('catalog:others', otherRepositories());

  // Status as the reconcilers leave it (they write it under a lease; here directly).
  for (let i = 0; i < IMAGES; i++) {
    await knex(OBJECTS)
      .where({ id: objectId('ImagePolicy', NAMESPACE, imageName(i)) })
      .update({
        status: JSON.stringify({
          observedGeneration: 1,
          conditions: ready,
          latestRef: {
            name: image(i),
            tag: '1.9.48',
            digest: digest(`${i}:1.9.48`),
          },
        }),
      });
    await knex(OBJECTS)
      .where({ id: repositoryId(i) })
      .update({
        status: JSON.stringify({
          observedGeneration: 1,
          conditions: ready,
          canonicalImageName: image(i),
          lastScanResult: {
            tagCount: TAGS_PER_REPOSITORY,
            scanTime: now.toISOString(),
            latestTags: ['1.9.49', '1.9.48'],
          },
        }),
      });
  }
  for (let t = 0; t < TARGETS; t++) {
    const markers = Array.from({ length: IMAGES }, (_, i) => ({
      file: `clusters/${automationName(t)}/${imageName(i)}/deployment.yaml`,
      line: 21,
      setter: `${NAMESPACE}:${imageName(i)}`,
      value: `${image(i)}:${deployedTag(i, t)}`,
    }));
    await knex(OBJECTS)
      .where({ id: automationId(t) })
      .update({
        status: JSON.stringify({
          observedGeneration: 1,
          conditions: ready,
          lastPushCommit: 'a'.repeat(40),
          lastPushTime: now.toISOString(),
          observedSourceRevision: `main@sha1:${'b'.repeat(40)}`,
          markers,
        }),
      });
  }

  // 500 tags per repository: 1.<minor>.<patch> (10 minors × 50 patches), every 25th a `sha-…` tag,
  // every 50th (offset 10) a prerelease, every 40th (offset 3) gone since a later scan.
  const repositories = Array.from({ length: IMAGES }, (_, i) =>
    repositoryId(i),
  );
  await knex.raw(
    `insert into ${TAGS} (object_id, tag, digest, first_seen_at, last_seen_at, gone_since)
     select r.id,
            case when g % 25 = 24 then 'sha-' || substr(md5(r.id || g), 1, 7)
                 when g % 50 = 10 then '1.' || (g / 50) || '.' || (g % 50) || '-rc.1'
                 else '1.' || (g / 50) || '.' || (g % 50) end,
            'sha256:' || md5(r.id || g) || md5(g || r.id),
            to_char(timestamp '2026-01-01' + g * interval '1 hour', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
            '2026-12-01T00:00:00.000Z',
            case when g % 40 = 3 then '2026-11-01T00:00:00.000Z' end
     from unnest(?::text[]) as r(id), generate_series(0, ${
       TAGS_PER_REPOSITORY - 1
     }) as g`,
    [repositories],
  );

  // 1,000,000 scans over the entity's 20 repositories and 180 others.
  const scanned = [
    ...repositories,
    ...otherRepositories().map(o =>
      objectId('ImageRepository', 'others', o.manifest.metadata.name),
    ),
  ];
  await knex.raw(
    `insert into ${SCAN_TABLE} (object_id, canonical_image_name, started_at, duration_ms, outcome, error,
                                tag_count, revision, tags_added, tags_removed, requests)
     select (?::text[])[1 + g % ${scanned.length}],
            'ghcr.io/acme/repo-' || (g % ${scanned.length}),
            to_char(timestamp '2025-01-01' + g * interval '20 seconds', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
            50 + g % 900,
            case when g % 97 = 0 then 'failure' else 'success' end,
            case when g % 97 = 0 then 'GET https://ghcr.io/v2/acme/repo/tags/list: 503 Service Unavailable' end,
            case when g % 97 = 0 then 0 else ${TAGS_PER_REPOSITORY} end,
            case when g % 97 = 0 then null else 'sha256:' || md5(g::text) end,
            case when g % 13 = 0 then '["1.' || (g % 10) || '.' || (g % 50) || '"]' else '[]' end,
            '[]',
            1 + g % 3
     from generate_series(1, ${SCANS}) as g`,
    [scanned],
  );

  // Promotions: one open per (target, image), CLOSED_PER_ROW closed ones before it, and closed ones
  // of other entities' targets.
  const rows: Record<string, unknown>[] = [];
  let serial = 0;
  const uuid = () => {
    const hex = (++serial).toString(16).padStart(12, '0');
    return `00000000-0000-4000-8000-${hex}`;
  };
  const promotion = (
    entityRef: string,
    target: string,
    automation: string,
    subj: string,
    tag: string,
    state: string,
    at: Date,
    closed: boolean,
  ) => {
    const iso = at.toISOString();
    const to = {
      image: `ghcr.io/acme/${parseObjectId(subj).name}`,
      tag,
      digest: digest(`${subj}:${tag}`),
    };
    const history = [{ state: 'pending', at: iso, by: 'user:default/alice' }];
    if (state !== 'pending')
      history.push({ state, at: iso, by: 'user:default/bob' });
    rows.push({
      id: uuid(),
      entity_ref: entityRef,
      target_id: target,
      target: JSON.stringify({ id: target, type: 'git', objectId: automation }),
      subject: subj,
      from: JSON.stringify({ image: to.image, tag: '1.0.0' }),
      to: JSON.stringify(to),
      to_digest: to.digest,
      state,
      gates: JSON.stringify([
        {
          gate: 'approval',
          state: 'passed',
          summary: 'approval 1/1',
          evidence: { votes: 1 },
        },
        {
          gate: 'soak',
          state: 'passed',
          summary: 'soaked 24h',
          evidence: { firstSeenAt: iso },
        },
      ]),
      eta: null,
      history: JSON.stringify(history),
      bypassed_gates: null,
      justification: null,
      commit: state === 'applied' ? 'c'.repeat(40) : null,
      applied_revision: null,
      diff: null,
      preview: null,
      error: null,
      created_at: iso,
      updated_at: iso,
      closed_at: closed ? iso : null,
      revision: history.length,
    });
  };
  const start = Date.parse('2026-06-01T00:00:00Z');
  for (let t = 0; t < TARGETS; t++) {
    for (let i = 0; i < IMAGES; i++) {
      for (let k = 0; k < CLOSED_PER_ROW; k++) {
        const state = ['applied', 'superseded', 'rejected'][k % 3];
        promotion(
          ENTITY,
          targetId(t),
          automationId(t),
          subject(i),
          `1.${k % 10}.${k}`,
          state,
          new Date(start + (k * 200 + t * 20 + i) * 60_000),
          true,
        );
      }
      promotion(
        ENTITY,
        targetId(t),
        automationId(t),
        subject(i),
        '1.9.48',
        i % 2 ? 'approved' : 'pending',
        new Date(start + 5_000 * 60_000 + (t * 20 + i) * 60_000),
        false,
      );
    }
  }
  for (let k = 0; k < OTHER_CLOSED; k++) {
    const other = `ImageUpdateAutomation/others/target-${k % 50}`;
    promotion(
      `component:default/other-${k % 30}`,
      `git:${other}`,
      other,
      `ImagePolicy/others/other-${k % 180}`,
      `2.${k % 10}.0`,
      'applied',
      new Date(start + k * 60_000),
      true,
    );
  }
  await knex.batchInsert(PROMOTIONS, rows, 500);

  // Pins: 8 of the entity's rows, two of them expired; a few on other targets.
  const pinAt = now.toISOString();
  for (let p = 0; p < 8; p++) {
    await promotions.pin({
      targetId: targetId(p),
      subject: subject(p * 2),
      version: { image: image(p * 2), tag: deployedTag(p * 2, p) },
      reason: 'freeze for the release',
      by: 'user:default/alice',
      at: pinAt,
      ...(p >= 6
        ? { expiresAt: new Date(now.getTime() - 3_600_000).toISOString() }
        : {}),
    });
  }
  for (let p = 0; p < 5; p++) {
    await promotions.pin({
      targetId: `git:ImageUpdateAutomation/others/target-${p}`,
      subject: `ImagePolicy/others/other-${p}`,
      version: { tag: '2.0.0' },
      reason: 'hold',
      by: 'user:default/bob',
      at: pinAt,
    });
  }
  await knex.raw('analyze');
  return {
    repositories,
    targets: Array.from({ length: TARGETS }, (_, t) => targetId(t)),
    promotions: rows.length,
  };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)];
}

function stats(samples: number[]) {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    p50: percentile(sorted, 0.5),
    p95: percentile(sorted, 0.95),
    max: sorted[sorted.length - 1],
  };
}

const ms = (n: number) => n.toFixed(1);

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/** Wraps every method of a store so that its calls and their time are counted under `name.method`. */
function profiled<T extends object>(
  name: string,
  store: T,
  totals: Map<string, { calls: number; ms: number }>,
): T {
  return new Proxy(store, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver);
      if (typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        const start = process.hrtime.bigint();
        try {
          return await value.apply(target, args);
        } finally {
          const entry = totals.get(`${name}.${String(key)}`) ?? {
            calls: 0,
            ms: 0,
          };
          entry.calls += 1;
          entry.ms += Number(process.hrtime.bigint() - start) / 1e6;
          totals.set(`${name}.${String(key)}`, entry);
        }
      };
    },
  });
}

async function main() {
  const setupStart = Date.now();
  let postgres: TestPostgres | undefined;
  let knex: Knex | undefined;
  try {
    postgres = await startPostgres();
    knex = knexFactory({ client: 'pg', connection: postgres.connectionString });
    const objects = await DatabaseObjectStore.create({ knex });
    const scans = await DatabaseScanStore.create({
      knex,
      skipMigrations: true,
    });
    const promotions = await DatabasePromotionStore.create({
      knex,
      skipMigrations: true,
    });
    const seeded = await seed(knex, promotions, objects);
    const [{ version }] = (await knex.raw('select version()')).rows;
    const count = async (table: string) =>
      Number((await knex!(table).count({ n: '*' }))[0].n);
    console.log(
      `versions-route: ${ENTITY}, ${IMAGES} images × ${TARGETS} targets, ${
        version.split(',')[0]
      }`,
    );
    console.log(
      `  seeded in ${((Date.now() - setupStart) / 1000).toFixed(
        0,
      )} s: ${await count(OBJECTS)} objects, ${await count(TAGS)} tags, ` +
        `${await count(SCAN_TABLE)} scans, ${await count(
          PROMOTIONS,
        )} promotions ` +
        `(${await knex(PROMOTIONS)
          .whereIn('state', OPEN_PROMOTION_STATES)
          .count({ n: '*' })
          .then(r => r[0].n)} open), ${await count(PINS)} pins`,
    );
    // What the scan history costs on disk: the table with its indexes and TOAST, per million rows.
    const scanBytes = Number(
      (await knex.raw(`select pg_total_relation_size('${SCAN_TABLE}') as n`))
        .rows[0].n,
    );
    console.log(
      `  scan history: ${(scanBytes / 1024 / 1024).toFixed(
        0,
      )} MiB for ${await count(SCAN_TABLE)} rows (${(
        (scanBytes / 1024 / 1024) *
        (1_000_000 / (await count(SCAN_TABLE)))
      ).toFixed(0)} MiB per million rows, indexes included)`,
    );

    const permissions = {
      authorize: async (requests: unknown[]) =>
        requests.map(() => ({ result: AuthorizeResult.ALLOW })),
      authorizeConditional: async (requests: unknown[]) =>
        requests.map(() => ({ result: AuthorizeResult.ALLOW })),
    } as unknown as PermissionsService;
    const credentials = {
      $$type: '@backstage/BackstageCredentials',
      principal: { type: 'user', userEntityRef: 'user:default/bench' },
    } as unknown as BackstageCredentials;
    const service = new VersionsService({
      objects,
      scans,
      promotions,
      permissions,
    });

    const view = await service.versions(ENTITY, credentials);
    const rows = view.items;
    const check = {
      rows: rows.length,
      withPromotion: rows.filter(r => r.promotionId).length,
      withPin: rows.filter(r => r.pin).length,
      withNewest: rows.filter(r => r.newest).length,
      behind: rows.filter(r => (r.behind?.tags ?? 0) > 0).length,
    };
    if (
      check.rows !== IMAGES * TARGETS ||
      check.withPromotion !== IMAGES * TARGETS ||
      check.withPin !== 6 ||
      check.withNewest !== IMAGES * TARGETS
    ) {
      throw new Error(`unexpected versions view: ${JSON.stringify(check)}`);
    }
    console.log(
      `  view: ${check.rows} rows, ${check.withPromotion} with an open promotion, ${check.withPin} pinned, ${check.behind} behind ` +
        `(e.g. ${rows[1].subject} on ${rows[1].target.id}: deployed ${rows[1].deployed?.tag}, newest ${rows[1].newest?.tag}, behind "${rows[1].behind?.summary}")`,
    );

    // The floor: the same rows, read raw.
    const floor = async () => {
      await knex!(OBJECTS).where('entity_ref', ENTITY);
      await knex!(TAGS)
        .whereIn('object_id', seeded.repositories)
        .whereNull('gone_since');
      await knex!(PROMOTIONS)
        .whereIn('target_id', seeded.targets)
        .whereIn('state', OPEN_PROMOTION_STATES);
      await knex!(PINS).whereIn('target_id', seeded.targets);
    };
    const ours = () => service.versions(ENTITY, credentials);
    for (let i = 0; i < WARMUP; i++) {
      await ours();
      await floor();
    }
    const oursMs: number[] = [];
    const floorMs: number[] = [];
    for (let i = 0; i < CALLS; i++) {
      oursMs.push(await timed(ours));
      floorMs.push(await timed(floor));
    }
    const o = stats(oursMs);
    const f = stats(floorMs);
    const pass = o.p95 < TARGET_P95_MS;
    console.log(
      `  ${CALLS} calls after ${WARMUP} warm-up calls each, alternating:`,
    );
    console.log(
      `    versions():  p50 ${ms(o.p50)} ms, p95 ${ms(o.p95)} ms, max ${ms(
        o.max,
      )} ms`,
    );
    console.log(
      `    floor (raw reads of the same rows: entity objects, present tags of ${IMAGES} repositories, open promotions and pins of ${TARGETS} targets; 4 queries, no computation):`,
    );
    console.log(
      `                 p50 ${ms(f.p50)} ms, p95 ${ms(f.p95)} ms, max ${ms(
        f.max,
      )} ms`,
    );
    console.log(
      `    ratio ours/floor: p50 ${(o.p50 / f.p50).toFixed(1)}, p95 ${(
        o.p95 / f.p95
      ).toFixed(1)}`,
    );
    console.log(
      `    ${pass ? 'PASS' : 'FAIL'}: p95 ${ms(o.p95)} ms ${
        pass ? '<' : '>='
      } ${TARGET_P95_MS} ms`,
    );

    // Where the time goes: the same calls with every store method timed (sequential awaits, so the
    // rest of the wall time is computation in the service: versionGap, JSON parsing, row assembly).
    const totals = new Map<string, { calls: number; ms: number }>();
    const profiledService = new VersionsService({
      objects: profiled('objects', objects, totals),
      scans: profiled('scans', scans, totals),
      promotions: profiled('promotions', promotions, totals),
      permissions,
    });
    let wall = 0;
    for (let i = 0; i < PROFILED_CALLS; i++) {
      wall += await timed(() => profiledService.versions(ENTITY, credentials));
    }
    let inStores = 0;
    console.log(
      `  breakdown, mean per call over ${PROFILED_CALLS} timed calls (${ms(
        wall / PROFILED_CALLS,
      )} ms):`,
    );
    for (const [name, { calls, ms: total }] of [...totals].sort(
      (a, b) => b[1].ms - a[1].ms,
    )) {
      inStores += total;
      console.log(
        `    ${name.padEnd(24)} ${String(calls / PROFILED_CALLS).padStart(
          4,
        )} queries  ${ms(total / PROFILED_CALLS).padStart(6)} ms`,
      );
    }
    console.log(
      `    ${'computation (the rest)'.padEnd(24)} ${''.padStart(
        4,
      )}          ${ms((wall - inStores) / PROFILED_CALLS).padStart(6)} ms`,
    );
    if (!pass) process.exitCode = 1;
  } finally {
    await knex?.destroy();
    await postgres?.stop();
  }
}

main().catch(error => {
  console.error(error);
  process.exit(1);
});
