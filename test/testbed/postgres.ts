import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './freePort';
import { spawnTracked, trackDirectory } from './processes';

const execFileAsync = promisify(execFile);

/** A running throwaway PostgreSQL server. @public */
export interface TestPostgres {
  /** `postgresql://postgres:postgres@127.0.0.1:PORT` */
  connectionString: string;
  host: string;
  port: number;
  /**
   * Stops the server (as a crash by default: connections are cut; with fsync and
   * synchronous_commit off, as configured for speed, the last commits may be lost; `crash: false`
   * is a fast shutdown that keeps them) and starts it again on the same port and data after `downMs`.
   */
  restart(options?: { downMs?: number; crash?: boolean }): Promise<void>;
  /** Stops the server and deletes its data directory. */
  stop(): Promise<void>;
}

/** The bin directory of the newest installed Debian PostgreSQL. @internal */
export function postgresBinDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = fs.existsSync(root)
    ? fs
        .readdirSync(root)
        .filter(v => fs.existsSync(path.join(root, v, 'bin', 'postgres')))
    : [];
  if (versions.length === 0) {
    throw new Error(
      'PostgreSQL is not installed (/usr/lib/postgresql/*/bin); run scripts/setup.sh',
    );
  }
  versions.sort((a, b) => Number(b) - Number(a));
  return path.join(root, versions[0], 'bin');
}

/** PostgreSQL refuses to run as root, so as root the server runs as the `postgres` user. */
function serverUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) {
    return undefined;
  }
  const uid = Number(
    execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim(),
  );
  const gid = Number(
    execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim(),
  );
  return { uid, gid };
}

const PASSWORD = 'postgres';

/**
 * Starts a throwaway PostgreSQL cluster on 127.0.0.1 and a free port (`initdb --no-sync`,
 * `fsync=off`, a socket directory of its own), with user `postgres` / password `postgres`.
 * The server is a tracked child process: it is stopped by `stop()` or when this process exits.
 * @public
 */
export async function startPostgres(): Promise<TestPostgres> {
  const bin = postgresBinDir();
  const user = serverUser();
  const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'testbed-pg-'));
  const removeDir = trackDirectory(dir);
  try {
    const dataDir = path.join(dir, 'data');
    const socketDir = path.join(dir, 'socket');
    await fs.promises.mkdir(socketDir);
    await fs.promises.writeFile(path.join(dir, 'pwfile'), `${PASSWORD}\n`);
    if (user) {
      for (const p of [dir, socketDir, path.join(dir, 'pwfile')]) {
        await fs.promises.chown(p, user.uid, user.gid);
      }
    }
    await execFileAsync(
      path.join(bin, 'initdb'),
      [
        '-D',
        dataDir,
        '--no-sync',
        '-U',
        'postgres',
        `--pwfile=${path.join(dir, 'pwfile')}`,
        '--auth-local=trust',
        '--auth-host=scram-sha-256',
        '-E',
        'UTF8',
        '--locale=C',
      ],
      { ...user, cwd: dir },
    );
    const launch = async (port: number) => {
      const server = spawnTracked(
        path.join(bin, 'postgres'),
        [
          '-D',
          dataDir,
          '-p',
          String(port),
          '-k',
          socketDir,
          '-c',
          'listen_addresses=127.0.0.1',
          '-c',
          'fsync=off',
          '-c',
          'synchronous_commit=off',
          '-c',
          'full_page_writes=off',
          '-c',
          'max_connections=200',
        ],
        // SIGQUIT is PostgreSQL's immediate shutdown: the postmaster takes its children with it.
        { ...user, cwd: dir, emergencySignal: 'SIGQUIT' },
      );
      const ready = await new Promise<boolean>(resolve => {
        const timer = setTimeout(() => resolve(false), 30_000);
        const onData = () => {
          if (
            server
              .output()
              .includes('database system is ready to accept connections')
          ) {
            clearTimeout(timer);
            resolve(true);
          }
        };
        server.child.stderr?.on('data', onData);
        server.child.stdout?.on('data', onData);
        server.exited.then(() => {
          clearTimeout(timer);
          resolve(false);
        });
      });
      return { server, ready };
    };
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const launched = await launch(port);
      let server = launched.server;
      if (launched.ready) {
        return {
          connectionString: `postgresql://postgres:${PASSWORD}@127.0.0.1:${port}`,
          host: '127.0.0.1',
          port,
          async restart(options = {}) {
            // SIGQUIT: an immediate shutdown (as a crash: open connections are cut), SIGINT: fast.
            await server.stop(
              options.crash === false ? 'SIGINT' : 'SIGQUIT',
              10_000,
            );
            await new Promise(resolve =>
              setTimeout(resolve, options.downMs ?? 0),
            );
            const again = await launch(port);
            if (!again.ready)
              throw new Error(
                `PostgreSQL did not start again:\n${again.server.output()}`,
              );
            server = again.server;
          },
          async stop() {
            await server.stop('SIGINT', 10_000);
            await removeDir();
          },
        };
      }
      await server.stop('SIGQUIT');
      const output = server.output();
      if (attempt >= 3 || !output.includes('could not bind')) {
        throw new Error(`PostgreSQL did not start:\n${output}`);
      }
    }
  } catch (error) {
    await removeDir();
    throw error;
  }
}
