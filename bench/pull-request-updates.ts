/**
 * Pull-request mode at scale (issue #19) on a real Gitea (test bed): `AUTOMATIONS` (200)
 * ImageUpdateAutomations in one repository, each with its own policy, marker directory and open
 * pull request; then one new tag that every policy selects. Measured: the time to update every
 * pull request (each run: clone the base, force-push with lease, update the PR — one API call,
 * nothing read before it) and the API calls made, by kind, with none listing pull requests; then a
 * pass with nothing new (one read per pull request). Runs are sequential, as one backend
 * instance's engine worker would run them; `CONCURRENCY` runs several at once.
 *
 * The peer, measured in the same run against the same Gitea: bench/peers/gitea-pr-update, a Go
 * program with the Gitea Go SDK doing the same per-pull-request work (shallow clone of the base,
 * the tag rewritten, commit, force-push with lease, one edit of the pull request), sequentially.
 * The ratio of the two says what the engine adds (planning, promotions, store). `PEER=0` skips it.
 *
 *   node --require @backstage/cli-node/config/nodeTransform.cjs bench/pull-request-updates.ts
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import knexFactory from 'knex';
import { ConfigReader } from '@backstage/config';
import {
  AutomationObject,
  ObjectStatus,
} from '@imageops/backstage-plugin-image-automation-common';
import { NamedCredentials } from '../plugins/image-automation-backend/src/credentials/NamedCredentials';
import { ImageUpdateAutomationReconciler } from '../plugins/image-automation-backend/src/engine/ImageUpdateAutomationReconciler';
import { readGitAccessSettings } from '../plugins/image-automation-backend/src/git/gitAccess';
import { PromotionPlanner } from '../plugins/image-automation-backend/src/promotions/PromotionPlanner';
import { readPullRequestSettings } from '../plugins/image-automation-backend/src/pullRequests/pullRequestMode';
import { DatabaseObjectStore } from '../plugins/image-automation-backend/src/store/DatabaseObjectStore';
import { DatabasePromotionStore } from '../plugins/image-automation-backend/src/store/DatabasePromotionStore';
import { DatabaseScanStore } from '../plugins/image-automation-backend/src/store/DatabaseScanStore';
import { StoredObject } from '../plugins/image-automation-backend/src/store/ObjectStore';
import { startGitea } from '../test/testbed';

const AUTOMATIONS = Number(process.env.AUTOMATIONS ?? 200);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 1);
const NS = 'bench';
const ENTITY = 'component:default/bench';

async function main() {
  const gitea = await startGitea();
  const knex = knexFactory({
    client: 'better-sqlite3',
    connection: ':memory:',
    useNullAsDefault: true,
  });
  try {
    const repo = await gitea.createRepository('fleet');
    // Every app's manifest in one commit, pushed with git.
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'pr-bench-'));
    const basic = Buffer.from(
      `${gitea.admin.username}:${gitea.adminToken}`,
    ).toString('base64');
    const git = (...args: string[]) =>
      execFileSync(
        'git',
        ['-c', `http.extraHeader=Authorization: Basic ${basic}`, ...args],
        { cwd: work, stdio: 'pipe' },
      );
    git('clone', '--quiet', repo.cloneUrl, '.');
    for (let i = 0; i < AUTOMATIONS; i++) {
      fs.mkdirSync(path.join(work, 'apps', `app-${i}`), { recursive: true });
      fs.writeFileSync(
        path.join(work, 'apps', `app-${i}`, 'deploy.yaml'),
        `image: registry.example.com/team/shared:1.0.0 # {"$imagepolicy": "${NS}:app-${i}"}\n`,
      );
    }
    git('add', '.');
    git(
      '-c',
      'user.name=bench',
      '-c',
      'user.email=bench@example.com',
      'commit',
      '--quiet',
      '-m',
      'apps',
    );
    git('push', '--quiet', 'origin', 'main');
    fs.rmSync(work, { recursive: true, force: true });

    const calls = new Map<string, number>();
    const counting: typeof fetch = async (input, init) => {
      const url = new URL(String(input));
      const kind = `${init?.method ?? 'GET'} ${url.pathname
        .replace(/\/api\/v1\/repos\/[^/]+\/[^/]+/, '')
        .replace(/\/\d+/g, '/N')
        .replace(/\/commits\/[^/]+/, '/commits/SHA')}`;
      calls.set(kind, (calls.get(kind) ?? 0) + 1);
      return fetch(input, init);
    };
    const config = new ConfigReader({
      imageAutomation: {
        credentials: {
          gitea: {
            type: 'basic',
            username: gitea.admin.username,
            password: gitea.adminToken,
            allowedEntities: [ENTITY],
            hosts: [gitea.host],
          },
        },
        git: {
          insecureHosts: [gitea.host],
          pullRequests: [{ host: gitea.host, type: 'gitea' }],
        },
      },
    });
    const objects = await DatabaseObjectStore.create({ knex });
    const promotions = await DatabasePromotionStore.create({ knex });
    const scans = await DatabaseScanStore.create({ knex });
    const reconciler = new ImageUpdateAutomationReconciler({
      objects,
      credentials: NamedCredentials.fromConfig(config),
      gitAccess: readGitAccessSettings(config),
      promotions: {
        planner: new PromotionPlanner({ promotions, objects }),
        scans,
      },
      pullRequests: { ...readPullRequestSettings(config), fetch: counting },
    });

    async function select(tag: string) {
      const manifests: AutomationObject[] = [
        {
          apiVersion: 'source.toolkit.fluxcd.io/v1',
          kind: 'GitRepository',
          metadata: { name: 'fleet', namespace: NS },
          spec: {
            url: repo.cloneUrl,
            interval: '5m',
            ref: { branch: 'main' },
            secretRef: { name: 'gitea' },
          },
        },
      ];
      for (let i = 0; i < AUTOMATIONS; i++) {
        manifests.push({
          apiVersion: 'image.toolkit.fluxcd.io/v1',
          kind: 'ImagePolicy',
          metadata: {
            name: `app-${i}`,
            namespace: NS,
            labels: { app: `app-${i}` },
          },
          spec: {
            imageRepositoryRef: { name: 'shared' },
            policy: { semver: { range: '*' } },
          },
        });
      }
      await objects.syncSource(
        'config:bench.yaml',
        manifests.map(manifest => ({
          manifest,
          entityRef: ENTITY,
          source: { type: 'config' as const, location: 'bench.yaml' },
        })),
      );
      const all = await objects.list({ sourceKey: 'config:bench.yaml' });
      await objects.markDue(
        all.map(o => o.id),
        new Date(Date.now() - 1000),
      );
      for (const object of await objects.claimDue({
        owner: 'bench',
        now: new Date(),
        limit: 10_000,
        leaseMs: 600_000,
      })) {
        await objects.completeRun(object.id, 'bench', {
          status:
            object.kind === 'ImagePolicy'
              ? { latestRef: { name: 'registry.example.com/team/shared', tag } }
              : {},
          nextRunAt: new Date(Date.now() + 3_600_000),
          ranAt: new Date(),
        });
      }
    }

    const statuses = new Map<number, ObjectStatus>();
    const automation = (i: number): StoredObject => {
      const manifest: AutomationObject = {
        apiVersion: 'image.toolkit.fluxcd.io/v1',
        kind: 'ImageUpdateAutomation',
        metadata: {
          name: `app-${i}`,
          namespace: NS,
          annotations: { 'image-automation.io/pull-request': 'true' },
        },
        spec: {
          interval: '10m',
          sourceRef: { kind: 'GitRepository', name: 'fleet' },
          policySelector: { matchLabels: { app: `app-${i}` } },
          git: {
            checkout: { ref: { branch: 'main' } },
            commit: { author: { name: 'bot', email: 'bot@example.com' } },
          },
          update: { strategy: 'Setters', path: `./apps/app-${i}` },
        },
      };
      return {
        id: `ImageUpdateAutomation/${NS}/app-${i}`,
        apiVersion: manifest.apiVersion,
        kind: manifest.kind,
        namespace: NS,
        name: `app-${i}`,
        sourceKey: 'config:bench.yaml',
        source: { type: 'config', location: 'bench.yaml' },
        entityRef: ENTITY,
        manifest,
        generation: 1,
        status: statuses.get(i) ?? {},
        suspended: false,
        nextRunAt: new Date().toISOString(),
      };
    };
    async function runAll(): Promise<{
      ms: number;
      failed: string[];
      perRun: number[];
    }> {
      const failed: string[] = [];
      const perRun: number[] = [];
      let next = 0;
      const started = performance.now();
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (next < AUTOMATIONS) {
            const i = next++;
            const t = performance.now();
            const result = await reconciler.reconcile(
              automation(i),
              new Date(),
            );
            perRun.push(performance.now() - t);
            statuses.set(i, result.status);
            const ready = result.status.conditions?.find(
              c => c.type === 'Ready',
            );
            if (ready?.status !== 'True')
              failed.push(`app-${i}: ${ready?.reason} ${ready?.message}`);
          }
        }),
      );
      return { ms: performance.now() - started, failed, perRun };
    }
    const pct = (values: number[], p: number) =>
      [...values].sort((a, b) => a - b)[
        Math.min(values.length - 1, Math.floor(values.length * p))
      ];

    await select('1.0.1');
    const opened = await runAll();
    console.log(
      `opened ${AUTOMATIONS} pull requests in ${(opened.ms / 1000).toFixed(
        1,
      )} s; failures: ${opened.failed.length}`,
    );
    if (opened.failed.length) console.log(opened.failed.slice(0, 5).join('\n'));

    calls.clear();
    await select('1.0.2');
    const updated = await runAll();
    const total = [...calls.values()].reduce((a, b) => a + b, 0);
    console.log(
      `one new tag: updated ${AUTOMATIONS} pull requests in ${(
        updated.ms / 1000
      ).toFixed(1)} s ` +
        `(${(updated.ms / AUTOMATIONS).toFixed(0)} ms each; p50 ${pct(
          updated.perRun,
          0.5,
        ).toFixed(0)} ms, p95 ${pct(updated.perRun, 0.95).toFixed(
          0,
        )} ms; concurrency ${CONCURRENCY}); failures: ${updated.failed.length}`,
    );
    if (updated.failed.length)
      console.log(updated.failed.slice(0, 5).join('\n'));
    console.log(
      `API calls: ${total} (${(total / AUTOMATIONS).toFixed(
        2,
      )} per pull request)`,
    );
    for (const [kind, count] of [...calls].sort())
      console.log(`  ${kind}: ${count}`);
    const listings = [...calls].filter(([kind]) =>
      /^GET \/pulls$|\/pulls\?/.test(kind),
    ).length;
    console.log(`pull request listings: ${listings}`);

    // A pass with nothing new (the interval): no clone, no push; one read of the pull request.
    calls.clear();
    const idle = await runAll();
    const idleCalls = [...calls.values()].reduce((a, b) => a + b, 0);
    console.log(
      `nothing new: ${AUTOMATIONS} runs in ${(idle.ms / 1000).toFixed(1)} s (${(
        idle.ms / AUTOMATIONS
      ).toFixed(0)} ms each); failures: ${
        idle.failed.length
      }; API calls ${idleCalls} (${(idleCalls / AUTOMATIONS).toFixed(
        2,
      )} per pull request)`,
    );
    for (const [kind, count] of [...calls].sort())
      console.log(`  ${kind}: ${count}`);

    if (process.env.PEER !== '0') {
      const peer = runPeer({
        baseUrl: gitea.url,
        token: gitea.adminToken,
        user: gitea.admin.username,
        owner: repo.fullName.split('/')[0],
        repo: repo.fullName.split('/')[1],
        base: 'main',
        tag: '1.0.3',
        pulls: [...statuses].map(([i, status]) => ({
          number: status.pullRequest!.number,
          branch: status.pullRequest!.branch,
          head: status.pullRequest!.head,
          file: `apps/app-${i}/deploy.yaml`,
        })),
      });
      console.log(
        `peer (Go, Gitea SDK, same work, sequential): updated ${AUTOMATIONS} pull requests in ${(
          peer.ms / 1000
        ).toFixed(1)} s (${(peer.ms / AUTOMATIONS).toFixed(
          0,
        )} ms each); API calls ${peer.apiCalls}; failures: ${
          peer.failures.length
        }`,
      );
      if (peer.failures.length)
        console.log(peer.failures.slice(0, 5).join('\n'));
      console.log(
        `ratio engine/peer: time ${(updated.ms / peer.ms).toFixed(
          2,
        )}x, API calls ${(total / Math.max(1, peer.apiCalls)).toFixed(2)}x`,
      );
    }

    // Verification (not counted): one open pull request per automation, each carrying 1.0.2
    // (1.0.3 after the peer).
    let open = 0;
    for (let page = 1; ; page++) {
      const items = await gitea.api<Array<{ body: string }>>(
        'GET',
        `/repos/${repo.fullName}/pulls?state=open&limit=50&page=${page}`,
      );
      open += items.length;
      if (items.length < 50) break;
    }
    const total2 = await gitea.api<Array<unknown>>(
      'GET',
      `/repos/${repo.fullName}/pulls?state=all&limit=1`,
    );
    const spot = await gitea.api<{ content: string }>(
      'GET',
      `/repos/${
        repo.fullName
      }/contents/apps/app-7/deploy.yaml?ref=${encodeURIComponent(
        `image-automation/${NS}/app-7`,
      )}`,
    );
    console.log(
      `check: ${open} open pull requests (expected ${AUTOMATIONS}); app-7's branch: ${Buffer.from(
        spot.content,
        'base64',
      )
        .toString()
        .trim()}; any: ${total2.length > 0}`,
    );
  } finally {
    await knex.destroy();
    await gitea.stop();
  }
}

/** Builds the peer (not timed), then runs it with `input` on stdin; its own clock times the work. */
function runPeer(input: unknown): {
  ms: number;
  apiCalls: number;
  failures: string[];
} {
  const dir = path.join(__dirname, 'peers', 'gitea-pr-update');
  const binary = path.join(
    fs.mkdtempSync(path.join(os.tmpdir(), 'pr-peer-')),
    'peer',
  );
  try {
    execFileSync('go', ['build', '-o', binary, '.'], {
      cwd: dir,
      stdio: 'pipe',
    });
    const run = spawnSync(binary, [], {
      input: JSON.stringify(input),
      encoding: 'utf8',
      maxBuffer: 16 * 1024 * 1024,
    });
    if (run.status !== 0)
      throw new Error(`the peer failed (${run.status}): ${run.stderr}`);
    return JSON.parse(run.stdout);
  } finally {
    fs.rmSync(path.dirname(binary), { recursive: true, force: true });
  }
}

main().catch(error => {
  console.error(error);
  process.exitCode = 1;
});
