import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  addTags,
  deleteTag,
  MANIFEST_ACCEPT,
  pushImage,
  startPostgres,
  startRegistry,
  TestRegistry,
} from '.';
import { request } from './httpRequest';

const execFileAsync = promisify(execFile);

async function get(
  registry: TestRegistry,
  pathAndQuery: string,
  headers: Record<string, string> = {},
) {
  const auth: Record<string, string> = registry.credentials
    ? {
        authorization: `Basic ${Buffer.from(
          `${registry.credentials.username}:${registry.credentials.password}`,
        ).toString('base64')}`,
      }
    : {};
  const c = registry.certificates;
  return request(`${registry.url}${pathAndQuery}`, {
    headers: { ...auth, ...headers },
    ...(c ? { ca: c.ca, cert: c.clientCert, key: c.clientKey } : {}),
  });
}

/** Alive and not a zombie (an orphan killed by its parent may wait a moment to be reaped). */
function processAlive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

describe('startPostgres', () => {
  it('serves a throwaway cluster with a password, and removes it on stop', async () => {
    const pg = await startPostgres();
    try {
      expect(pg.connectionString).toMatch(
        /^postgresql:\/\/postgres:postgres@127\.0\.0\.1:\d+$/,
      );
      const { Client } = require('pg');
      const client = new Client({ connectionString: pg.connectionString });
      await client.connect();
      const { rows } = await client.query(
        'select current_setting($1) as fsync',
        ['fsync'],
      );
      await client.end();
      expect(rows).toEqual([{ fsync: 'off' }]);
      const wrong = new Client({
        connectionString: pg.connectionString.replace(':postgres@', ':wrong@'),
      });
      await expect(wrong.connect()).rejects.toThrow(
        /password authentication failed/,
      );
    } finally {
      await pg.stop();
    }
  });

  it('has a shell entry that starts and stops a server', async () => {
    const dir = fs.mkdtempSync('/tmp/testbed-pgsh-');
    const script = path.join(__dirname, 'postgres.sh');
    try {
      const { stdout } = await execFileAsync(script, ['start', dir]);
      const url = stdout.trim();
      expect(url).toMatch(
        /^postgresql:\/\/postgres:postgres@127\.0\.0\.1:\d+$/,
      );
      const { Client } = require('pg');
      const client = new Client({ connectionString: url });
      await client.connect();
      await client.end();
    } finally {
      await execFileAsync(script, ['stop', dir]);
    }
    expect(fs.existsSync(dir)).toBe(false);
  });
});

describe('startRegistry and pushImage', () => {
  it.each([
    ['plain HTTP', {}],
    ['htpasswd', { htpasswd: { username: 'alice', password: 's3cret' } }],
    ['TLS with client certificates', { tls: { clientAuth: true } }],
  ])('pushes, tags, retags and deletes tags (%s)', async (_, options) => {
    const registry = await startRegistry(options);
    try {
      expect(registry.host).toMatch(/^127\.0\.0\.1:\d+$/);
      const first = await pushImage(registry, 'team/app', ['1.0.0', '1.0.1']);
      const again = await pushImage(registry, 'team/app', ['1.0.2']);
      const other = await pushImage(registry, 'team/app', ['2.0.0'], {
        seed: 'another',
      });
      expect(again.digest).toBe(first.digest);
      expect(other.digest).not.toBe(first.digest);

      const head = await get(registry, '/v2/team/app/manifests/2.0.0', {
        accept: MANIFEST_ACCEPT,
      });
      expect(head.status).toBe(200);
      expect(head.headers['docker-content-digest']).toBe(other.digest);

      await addTags(registry, 'team/app', first.digest, ['a', 'b']);
      await addTags(registry, 'team/app', first.digest, ['c'], { via: 'http' });
      await deleteTag(registry, 'team/app', '1.0.1');
      const list = await get(registry, '/v2/team/app/tags/list');
      expect(JSON.parse(list.body.toString()).tags.sort()).toEqual([
        '1.0.0',
        '1.0.2',
        '2.0.0',
        'a',
        'b',
        'c',
      ]);
    } finally {
      await registry.stop();
    }
    expect(fs.existsSync(registry.storageDir)).toBe(false);
  });

  it('pushes a multi-arch index whose platform manifests resolve', async () => {
    const registry = await startRegistry();
    try {
      const image = await pushImage(registry, 'multi', ['v1'], {
        platforms: [
          { os: 'linux', architecture: 'amd64' },
          { os: 'linux', architecture: 'arm64', variant: 'v8' },
        ],
      });
      const index = await get(registry, '/v2/multi/manifests/v1', {
        accept: MANIFEST_ACCEPT,
      });
      expect(index.headers['content-type']).toBe(
        'application/vnd.oci.image.index.v1+json',
      );
      expect(
        JSON.parse(index.body.toString()).manifests.map((m: any) => m.digest),
      ).toEqual(image.platformDigests);
      for (const digest of image.platformDigests) {
        expect(
          (
            await get(registry, `/v2/multi/manifests/${digest}`, {
              accept: MANIFEST_ACCEPT,
            })
          ).status,
        ).toBe(200);
      }
    } finally {
      await registry.stop();
    }
  });

  it.each(['SIGINT', 'SIGKILL'] as const)(
    'stops what it started when the process gets %s',
    async signal => {
      const script = `
      require(${JSON.stringify(
        require.resolve('@backstage/cli-node/config/nodeTransform.cjs'),
      )});
      const { startRegistry } = require(${JSON.stringify(
        path.join(__dirname, 'registry.ts'),
      )});
      startRegistry().then(r => { console.log(JSON.stringify({ url: r.url, storage: r.storageDir })); });
      setInterval(() => {}, 1000);
    `;
      const child = spawn(process.execPath, ['-e', script], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const line = await new Promise<string>(resolve =>
        child.stdout.once('data', d => resolve(String(d))),
      );
      const { url, storage } = JSON.parse(line);
      const { stdout: pids } = await execFileAsync('pgrep', [
        '-P',
        String(child.pid),
      ]);
      const registryPid = Number(pids.trim().split('\n')[0]);
      expect(processAlive(registryPid)).toBe(true);
      child.kill(signal);
      await new Promise(resolve => child.once('exit', resolve));
      // After SIGKILL no handler runs: the kernel's parent-death signal stops the registry, but
      // its temporary directory stays (in the OS temp dir).
      for (let i = 0; i < 50 && processAlive(registryPid); i++) {
        await new Promise(r => setTimeout(r, 20));
      }
      expect(processAlive(registryPid)).toBe(false);
      if (signal === 'SIGINT') {
        expect(fs.existsSync(storage)).toBe(false);
      } else {
        fs.rmSync(path.dirname(storage), { recursive: true, force: true });
      }
      await expect(request(`${url}/v2/`)).rejects.toThrow();
    },
  );
});
