/**
 * The world `entity-tab.ts` measures: the real backend serving the built app (SQLite files, so the
 * scan history can be seeded), the test bed's registry and Git server, and one entity with 50
 * automation objects whose first repository holds 10,000 tags and 1,000 scan-history rows.
 */
import { objectId } from '@imageops/backstage-plugin-image-automation-common';
import knexFactory from 'knex';
import path from 'node:path';
import { RunningApp, startApp } from '../test/src/browser/startApp';
import {
  pushImage,
  startGitServer,
  startRegistry,
  TestGitServer,
  TestRegistry,
} from '../test/testbed';

/** The measured entity, and one whose tab has nothing to show. */
export const ENTITY = {
  kind: 'component',
  namespace: 'default',
  name: 'bench',
};
export const EMPTY_ENTITY = { ...ENTITY, name: 'bench-empty' };

const NAMESPACE = 'bench';
/** 20 ImageRepositories + 20 ImagePolicies + 1 GitRepository + 9 ImageUpdateAutomations = 50. */
export const IMAGES = 20;
export const AUTOMATIONS = 9;
export const OBJECTS = 2 * IMAGES + 1 + AUTOMATIONS;
/** Tags of the first repository (1.0.0 … 1.99.99); the others hold 20 (1.0.0 … 1.3.4). */
export const BIG_TAGS = 10_000;
const SMALL_TAGS = 20;
/** Scan-history rows of the first repository. */
export const HISTORY = 1_000;
/** Each automation deploys two of its 20 images behind the selection, held by an approval gate. */
export const PENDING = 2 * AUTOMATIONS;

const pad = (n: number) => String(n).padStart(2, '0');
export const imageName = (i: number) => `app-${pad(i)}`;
const automationName = (k: number) => `cluster-${pad(k)}`;
const bigTag = (n: number) => `1.${Math.floor(n / 100)}.${n % 100}`;
const smallTag = (n: number) => `1.${Math.floor(n / 5)}.${n % 5}`;
const selectedTag = (i: number) =>
  i === 0 ? bigTag(BIG_TAGS - 1) : smallTag(SMALL_TAGS - 1);
const olderTag = (i: number) => (i === 0 ? '1.98.0' : '1.2.0');
const isBehind = (i: number, k: number) => i === k || i === k + 10;

const catalog = `
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: { name: team-bench }
spec: { type: team, children: [] }
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: ${ENTITY.name}
  annotations:
    image-automation.io/manifests: ./bench.yaml
spec: { type: service, lifecycle: production, owner: group:default/team-bench }
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: ${EMPTY_ENTITY.name}
  annotations:
    image-automation.io/manifests: ./empty.yaml
spec: { type: service, lifecycle: production, owner: group:default/team-bench }
`;

function manifests(registryHost: string, gitUrl: string): string {
  const docs: string[] = [];
  for (let i = 0; i < IMAGES; i++) {
    docs.push(`apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata: { name: ${imageName(i)}, namespace: ${NAMESPACE} }
spec: { image: ${registryHost}/bench/${imageName(i)}, interval: 1h }`);
    docs.push(`apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata: { name: ${imageName(i)}, namespace: ${NAMESPACE} }
spec:
  imageRepositoryRef: { name: ${imageName(i)} }
  policy: { semver: { range: '>=1.0.0' } }`);
  }
  docs.push(`apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: { name: fleet, namespace: ${NAMESPACE} }
spec:
  interval: 1h
  url: ${gitUrl}
  ref: { branch: main }
  secretRef: { name: git-writer }`);
  for (let k = 0; k < AUTOMATIONS; k++) {
    docs.push(`apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageUpdateAutomation
metadata:
  name: ${automationName(k)}
  namespace: ${NAMESPACE}
  annotations:
    promotion.image-automation.io/approvals: "1"
spec:
  interval: 1h
  sourceRef: { kind: GitRepository, name: fleet }
  git:
    commit: { author: { email: bot@example.com, name: bot } }
    push: { branch: main }
  update: { path: ./clusters/${automationName(k)}, strategy: Setters }`);
  }
  return `${docs.join('\n---\n')}\n`;
}

/** One Deployment per image and cluster, its image line marked with the image's policy. */
function fleetFiles(registryHost: string): Record<string, string> {
  const files: Record<string, string> = {};
  for (let k = 0; k < AUTOMATIONS; k++) {
    for (let i = 0; i < IMAGES; i++) {
      const tag = isBehind(i, k) ? olderTag(i) : selectedTag(i);
      files[
        `clusters/${automationName(k)}/${imageName(i)}.yaml`
      ] = `apiVersion: apps/v1
kind: Deployment
metadata: { name: ${imageName(i)}, namespace: ${automationName(k)} }
spec:
  template:
    spec:
      containers:
      - name: app
        image: ${registryHost}/bench/${imageName(
        i,
      )}:${tag} # {"$imagepolicy": "${NAMESPACE}:${imageName(i)}"}
`;
    }
  }
  return files;
}

/** The running world and how it was made. */
export interface EntityTabWorld {
  app: RunningApp;
  /** Seconds spent pushing the 10,000 tags (one manifest, then a PUT per tag name, 16 at a time). */
  pushSeconds: number;
  /** Seconds from the backend's start until the engine had reconciled every object. */
  reconcileSeconds: number;
  /** Rows counted in the backend's database after seeding. */
  counts: {
    objects: number;
    tags: number;
    scans: number;
    pendingPromotions: number;
    versionRows: number;
  };
  stop(): Promise<void>;
}

async function until<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs: number,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline)
      throw new Error(
        `timed out waiting for ${what}${last ? `: ${last}` : ''}`,
      );
    await new Promise(resolve => setTimeout(resolve, 1000));
  }
}

/**
 * Starts everything, lets the real engine scan, select and evaluate the automations, then rewrites
 * the first repository's scan history as 1,000 scans that brought its 10,000 tags 10 at a time.
 */
export async function startEntityTabWorld(
  log: (line: string) => void,
): Promise<EntityTabWorld> {
  let registry: TestRegistry | undefined;
  let git: TestGitServer | undefined;
  let app: RunningApp | undefined;
  const stop = async () => {
    await app?.stop();
    await Promise.all([registry?.stop(), git?.stop()]);
  };
  try {
    [registry, git] = await Promise.all([
      startRegistry(),
      startGitServer({ users: { writer: 'bench-token' } }),
    ]);
    const pushStart = Date.now();
    await pushImage(
      registry,
      `bench/${imageName(0)}`,
      Array.from({ length: BIG_TAGS }, (_, n) => bigTag(n)),
      { concurrency: 16 },
    );
    const pushSeconds = (Date.now() - pushStart) / 1000;
    for (let i = 1; i < IMAGES; i++) {
      await pushImage(
        registry,
        `bench/${imageName(i)}`,
        Array.from({ length: SMALL_TAGS }, (_, n) => smallTag(n)),
      );
    }
    await git.createRepository('fleet', fleetFiles(registry.host));
    log(
      `  registry: ${BIG_TAGS} tags pushed in ${pushSeconds.toFixed(1)} s; ${
        IMAGES - 1
      } more repositories of ${SMALL_TAGS} tags`,
    );

    const appStart = Date.now();
    app = await startApp({
      files: {
        'catalog.yaml': catalog,
        'bench.yaml': manifests(registry.host, git.url('fleet')),
        'empty.yaml': '# No automation objects.\n',
      },
      config: {
        // #13: granted to the entity, bound to the test bed's Git host (plain HTTP).
        credentials: {
          'git-writer': {
            type: 'basic',
            username: 'writer',
            password: 'bench-token',
            allowedEntities: [`component:default/${ENTITY.name}`],
            hosts: [new URL(git.baseUrl).host],
          },
        },
        git: { insecureHosts: [new URL(git.baseUrl).host] },
        // The only registry the fixture scans (none may be contacted unless listed).
        allowedRegistries: [registry.host],
        // Manifests are re-read every 10 s: the first read may come before the catalog has the entity.
        engine: { pollIntervalSeconds: 1, refreshIntervalSeconds: 10 },
        retention: { scanDays: 365, scansPerRepository: 10 * HISTORY },
      },
      sqliteFiles: true,
    });
    const running = app;
    const token = await running.guestToken();
    const get = async (route: string) => {
      const res = await fetch(
        `${running.baseUrl}/api/image-automation${route}`,
        {
          headers: { Authorization: `Bearer ${token}` },
        },
      );
      if (!res.ok)
        throw new Error(`${route}: ${res.status} ${await res.text()}`);
      return res.json();
    };
    const entityPath = `/entities/${ENTITY.kind}/${ENTITY.namespace}/${ENTITY.name}`;
    let state = 'no answer yet';
    await until(
      'the engine to reconcile every object',
      async () => {
        const objects = (await get(`${entityPath}/objects`)).items as Array<{
          kind: string;
          name: string;
          status: any;
        }>;
        const policies = objects.filter(o => o.kind === 'ImagePolicy');
        const versions = (await get(`${entityPath}/versions`)).items as Array<{
          deployed?: unknown;
        }>;
        const pending = (await get(`${entityPath}/promotions?state=pending`))
          .items as unknown[];
        const notReady = objects.filter(
          o =>
            !o.status.conditions?.some(
              (c: any) => c.type === 'Ready' && c.status === 'True',
            ),
        );
        state =
          `${objects.length} objects, ${
            policies.filter(o => o.status.latestRef).length
          } policies with a selection, ` +
          `${versions.length} version rows (${
            versions.filter(v => v.deployed).length
          } deployed), ${pending.length} pending promotions; ` +
          `not Ready: ${notReady
            .map(
              o =>
                `${o.kind}/${o.name}: ${JSON.stringify(
                  o.status.conditions ?? [],
                )}`,
            )
            .slice(0, 3)
            .join('; ')}`;
        const done =
          objects.length === OBJECTS &&
          policies.every(o => o.status.latestRef) &&
          versions.length === IMAGES * AUTOMATIONS &&
          versions.every(v => v.deployed) &&
          pending.length === PENDING;
        return done ? true : undefined;
      },
      300_000,
    ).catch(error => {
      throw new Error(`${error.message} (last: ${state})`);
    });
    const reconcileSeconds = (Date.now() - appStart) / 1000;
    log(
      `  backend: ${OBJECTS} objects reconciled by the engine in ${reconcileSeconds.toFixed(
        0,
      )} s (backend start included)`,
    );

    await seedHistory(
      path.join(running.dir, 'sqlite', 'image-automation.sqlite'),
    );

    const knex = knexFactory({
      client: 'better-sqlite3',
      connection: {
        filename: path.join(running.dir, 'sqlite', 'image-automation.sqlite'),
      },
      useNullAsDefault: true,
    });
    let counts: EntityTabWorld['counts'];
    try {
      const count = async (
        table: string,
        where: Record<string, unknown> = {},
      ) => Number((await knex(table).where(where).count({ n: '*' }))[0].n);
      counts = {
        objects: await count('image_automation_objects', {
          entity_ref: 'component:default/bench',
        }),
        tags: await count('image_automation_tags', {
          object_id: objectId('ImageRepository', NAMESPACE, imageName(0)),
        }),
        scans: await count('image_automation_scans', {
          object_id: objectId('ImageRepository', NAMESPACE, imageName(0)),
        }),
        pendingPromotions: (
          (await get(`${entityPath}/promotions?state=pending`))
            .items as unknown[]
        ).length,
        versionRows: ((await get(`${entityPath}/versions`)).items as unknown[])
          .length,
      };
    } finally {
      await knex.destroy();
    }
    return { app: running, pushSeconds, reconcileSeconds, counts, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * Replaces the first repository's scan history (one real scan by now) with 1,000 scans, one every
 * 10 minutes up to the real one, each success bringing the next 10 tags (every 97th a registry
 * failure), and sets the tags' first-seen times to match. The last row keeps the real scan's
 * time, image name, revision, duration and request count. Ids grow with time, as the engine's own
 * rows do. The backend reads the same SQLite file; writes wait for its locks.
 */
async function seedHistory(file: string) {
  const knex = knexFactory({
    client: 'better-sqlite3',
    connection: { filename: file },
    useNullAsDefault: true,
  });
  try {
    const repositoryId = objectId('ImageRepository', NAMESPACE, imageName(0));
    await knex.transaction(async tx => {
      const real = await tx('image_automation_scans')
        .where({ object_id: repositoryId })
        .orderBy('id', 'desc')
        .first();
      if (!real || real.outcome !== 'success')
        throw new Error(
          `no successful scan of ${repositoryId} to build the history on`,
        );
      const end = Date.parse(real.started_at);
      const failure = (s: number) => s % 97 === 50;
      const successes = Array.from({ length: HISTORY }, (_, s) => s).filter(
        s => !failure(s),
      ).length;
      const rows: Record<string, unknown>[] = [];
      const addedBy: string[][] = [];
      let success = 0;
      for (let s = 0; s < HISTORY; s++) {
        const at = new Date(end - (HISTORY - 1 - s) * 600_000).toISOString();
        const last = s === HISTORY - 1;
        if (failure(s)) {
          rows.push({
            object_id: repositoryId,
            canonical_image_name: real.canonical_image_name,
            started_at: at,
            duration_ms: 30_000,
            outcome: 'failure',
            error: `GET http://${
              real.canonical_image_name.split('/')[0]
            }/v2/bench/${imageName(0)}/tags/list: 503 Service Unavailable`,
            tag_count: 0,
            revision: null,
            tags_added: '[]',
            tags_removed: '[]',
            requests: 3,
          });
          continue;
        }
        const from = Math.floor((success * BIG_TAGS) / successes);
        const to = Math.floor(((success + 1) * BIG_TAGS) / successes);
        success++;
        const added = Array.from({ length: to - from }, (_, n) =>
          bigTag(from + n),
        );
        addedBy.push(added);
        rows.push({
          object_id: repositoryId,
          canonical_image_name: real.canonical_image_name,
          started_at: at,
          duration_ms: last ? real.duration_ms : 150 + (s % 50) * 7,
          outcome: 'success',
          error: null,
          tag_count: to,
          revision: last
            ? real.revision
            : `sha256:${String(s).padStart(64, '0')}`,
          tags_added: JSON.stringify(added),
          tags_removed: '[]',
          requests: last ? real.requests : 1,
        });
      }
      await tx('image_automation_scans')
        .where({ object_id: repositoryId })
        .delete();
      for (let r = 0; r < rows.length; r += 100) {
        await tx('image_automation_scans').insert(rows.slice(r, r + 100));
      }
      const successRows = rows.filter(row => row.outcome === 'success');
      for (let j = 0; j < addedBy.length; j++) {
        await tx('image_automation_tags')
          .where({ object_id: repositoryId })
          .whereIn('tag', addedBy[j])
          .update({ first_seen_at: successRows[j].started_at });
      }
    });
  } finally {
    await knex.destroy();
  }
}
