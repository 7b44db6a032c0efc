import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { makeCertificates, TestCertificates } from './certificates';
import { freePort } from './freePort';
import { spawnTracked, trackDirectory, waitUntil } from './processes';
import { request } from './httpRequest';

const execFileAsync = promisify(execFile);

/** Which implementation of the CNCF distribution registry to run. @public */
export type RegistryVersion = '2.8' | 'v3';

/** Bearer-token authentication as the registry's `auth.token` section configures it. @public */
export interface RegistryTokenAuth {
  realm: string;
  service: string;
  issuer: string;
  /** PEM file of the certificate(s) whose keys sign the tokens. */
  rootCertBundleFile: string;
}

/** Options of {@link startRegistry}. @public */
export interface StartRegistryOptions {
  /** `'2.8'` is Debian's `docker-registry` (no tag pagination); `'v3'` is built by `build-registry-v3.sh`. Default `'2.8'`. */
  version?: RegistryVersion;
  /** Basic authentication with one bcrypt htpasswd user. */
  htpasswd?: { username: string; password: string };
  /** Bearer-token authentication (see `tokenServer.ts`). */
  token?: RegistryTokenAuth;
  /** Serve HTTPS with a fresh CA; `{ clientAuth: true }` also requires a client certificate from that CA. */
  tls?: boolean | { clientAuth?: boolean };
  /**
   * Send the registry's notifications (`application/vnd.docker.distribution.events.v1+json`
   * envelopes, pulls ignored) to `url` with these headers, as its `notifications.endpoints` config does.
   */
  notifications?: RegistryNotifications;
}

/** One notification endpoint of the registry. @public */
export interface RegistryNotifications {
  url: string;
  headers?: Record<string, string[]>;
}

/** A running registry. @public */
export interface TestRegistry {
  /** `127.0.0.1:PORT` */
  host: string;
  /** `http://127.0.0.1:PORT` or `https://…` */
  url: string;
  version: RegistryVersion;
  /** The filesystem storage root (`…/docker/registry/v2/repositories/<name>` lives below it). */
  storageDir: string;
  /** Credentials the registry accepts (htpasswd), for pushing. */
  credentials?: { username: string; password: string };
  /** The CA and client certificate when started with `tls`. */
  certificates?: TestCertificates;
  /** Stops the registry and deletes its storage. */
  stop(): Promise<void>;
}

let v3Binary: string | undefined;

/** Path of the v3 registry binary, building it once per machine when missing. @internal */
export function registryV3Binary(): string {
  v3Binary ??= execFileSync(path.join(__dirname, 'build-registry-v3.sh'), {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  }).trim();
  return v3Binary;
}

function registryConfig(options: {
  port: number;
  storageDir: string;
  htpasswdFile?: string;
  token?: RegistryTokenAuth;
  certificates?: TestCertificates;
  clientAuth?: boolean;
  notifications?: RegistryNotifications;
}): string {
  const lines = [
    'version: 0.1',
    'log:',
    '  level: warn',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${JSON.stringify(options.storageDir)}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: 127.0.0.1:${options.port}`,
    '  secret: testbed-not-a-secret',
  ];
  if (options.certificates) {
    lines.push(
      '  tls:',
      `    certificate: ${JSON.stringify(options.certificates.serverCertFile)}`,
      `    key: ${JSON.stringify(options.certificates.serverKeyFile)}`,
    );
    if (options.clientAuth) {
      lines.push(
        '    clientcas:',
        `      - ${JSON.stringify(options.certificates.caFile)}`,
      );
    }
  }
  if (options.htpasswdFile) {
    lines.push(
      'auth:',
      '  htpasswd:',
      '    realm: testbed',
      `    path: ${JSON.stringify(options.htpasswdFile)}`,
    );
  } else if (options.token) {
    lines.push(
      'auth:',
      '  token:',
      `    realm: ${JSON.stringify(options.token.realm)}`,
      `    service: ${JSON.stringify(options.token.service)}`,
      `    issuer: ${JSON.stringify(options.token.issuer)}`,
      `    rootcertbundle: ${JSON.stringify(options.token.rootCertBundleFile)}`,
    );
  }
  if (options.notifications) {
    lines.push(
      'notifications:',
      '  endpoints:',
      '    - name: testbed',
      `      url: ${JSON.stringify(options.notifications.url)}`,
      '      timeout: 2s',
      '      threshold: 3',
      '      backoff: 1s',
      '      ignore:',
      '        actions: [pull]',
    );
    const headers = Object.entries(options.notifications.headers ?? {});
    if (headers.length > 0) {
      lines.push(
        '      headers:',
        ...headers.map(
          ([name, values]) => `        ${name}: ${JSON.stringify(values)}`,
        ),
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

/**
 * Starts a CNCF distribution registry on 127.0.0.1 and a free port, with filesystem storage in a
 * temporary directory; optionally with htpasswd (bcrypt) Basic auth, Bearer tokens and TLS.
 * Ready when `/v2/` answers (about 0.1 s). Stopped by `stop()` or when this process exits.
 * @public
 */
export async function startRegistry(
  options: StartRegistryOptions = {},
): Promise<TestRegistry> {
  const version = options.version ?? '2.8';
  const binary = version === 'v3' ? registryV3Binary() : 'docker-registry';
  const dir = await fs.promises.mkdtemp(
    path.join(os.tmpdir(), 'testbed-registry-'),
  );
  const removeDir = trackDirectory(dir);
  try {
    const storageDir = path.join(dir, 'storage');
    await fs.promises.mkdir(storageDir);
    let htpasswdFile: string | undefined;
    if (options.htpasswd) {
      const { stdout } = await execFileAsync('htpasswd', [
        '-Bbn',
        options.htpasswd.username,
        options.htpasswd.password,
      ]);
      htpasswdFile = path.join(dir, 'htpasswd');
      await fs.promises.writeFile(htpasswdFile, stdout.trim() + '\n');
    }
    const certificates = options.tls
      ? await makeCertificates(path.join(dir, 'tls'))
      : undefined;
    const clientAuth =
      typeof options.tls === 'object' && options.tls.clientAuth === true;
    const scheme = certificates ? 'https' : 'http';
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const configFile = path.join(dir, 'config.yml');
      await fs.promises.writeFile(
        configFile,
        registryConfig({
          port,
          storageDir,
          htpasswdFile,
          token: options.token,
          certificates,
          clientAuth,
          notifications: options.notifications,
        }),
      );
      const server = spawnTracked(binary, ['serve', configFile], { cwd: dir });
      const url = `${scheme}://127.0.0.1:${port}`;
      try {
        await waitUntil(
          async () => {
            const response = await request(`${url}/v2/`, {
              ca: certificates?.ca,
              cert: clientAuth ? certificates?.clientCert : undefined,
              key: clientAuth ? certificates?.clientKey : undefined,
            });
            return response.status === 200 || response.status === 401;
          },
          {
            timeoutMs: 15_000,
            what: `registry ${version}`,
            describe: server.output,
            exited: server.exited,
          },
        );
      } catch (error) {
        await server.stop('SIGKILL');
        if (attempt < 3 && server.output().includes('address already in use')) {
          continue;
        }
        throw error;
      }
      return {
        host: `127.0.0.1:${port}`,
        url,
        version,
        storageDir,
        credentials: options.htpasswd,
        certificates,
        async stop() {
          await server.stop('SIGTERM', 5000);
          await removeDir();
        },
      };
    }
  } catch (error) {
    await removeDir();
    throw error;
  }
}
