import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { makeCertificates, TestCertificates } from '../certificates';
import { freePort } from '../freePort';
import { request } from '../httpRequest';
import {
  KUBE_REUSE,
  registryKeys,
  Reusable,
  resetToStartup,
  reusePool,
} from './reuse';
import {
  spawnTracked,
  trackDirectory,
  TrackedProcess,
  waitUntil,
} from '../processes';

const execFileAsync = promisify(execFile);

const scriptDir = __dirname;

function readVersions(): { kubernetesVersion: string } {
  const text = fs.readFileSync(path.join(scriptDir, 'versions.env'), 'utf8');
  const version = /^KUBERNETES_VERSION=(\S+)/m.exec(text)?.[1];
  if (!version) {
    throw new Error(
      `KUBERNETES_VERSION missing in ${path.join(scriptDir, 'versions.env')}`,
    );
  }
  return { kubernetesVersion: version };
}

/** Where build.sh puts binaries and CRDs for this version. @internal */
export function kubernetesCacheDir(): string {
  const root =
    process.env.IMAGE_AUTOMATION_CACHE ??
    path.join(os.homedir(), '.cache', 'image-automation');
  return path.join(root, `kubernetes-${readVersions().kubernetesVersion}`);
}

/** The test bed's binaries and CRD directory. @public */
export interface KubernetesBinaries {
  kubeApiServer: string;
  kubectl: string;
  etcd: string;
  crdDir: string;
  /** Which build path made the binaries (module proxy, or the Debian-source fallback and why). */
  buildInfo: string;
}

function binariesIn(dir: string): KubernetesBinaries {
  return {
    kubeApiServer: path.join(dir, 'bin', 'kube-apiserver'),
    kubectl: path.join(dir, 'bin', 'kubectl'),
    etcd: path.join(dir, 'bin', 'etcd'),
    crdDir: path.join(dir, 'crds'),
    buildInfo: fs.existsSync(path.join(dir, 'BUILD-INFO'))
      ? fs.readFileSync(path.join(dir, 'BUILD-INFO'), 'utf8').trim()
      : '',
  };
}

/**
 * Returns the binaries, running `build.sh` first when any is missing (8–15 minutes cold; give the
 * calling `beforeAll` a generous timeout). The build's output goes to the console.
 * @public
 */
export async function ensureKubernetesBinaries(): Promise<KubernetesBinaries> {
  const dir = kubernetesCacheDir();
  const bins = binariesIn(dir);
  const complete =
    [bins.kubeApiServer, bins.kubectl, bins.etcd].every(f =>
      fs.existsSync(f),
    ) && fs.existsSync(path.join(bins.crdDir, '.complete'));
  if (!complete) {
    await new Promise<void>((resolve, reject) => {
      const child = spawn(path.join(scriptDir, 'build.sh'), [], {
        stdio: ['ignore', 'inherit', 'inherit'],
      });
      child.on('error', reject);
      child.on('exit', code =>
        code === 0
          ? resolve()
          : reject(new Error(`build.sh exited with ${code}`)),
      );
    });
  }
  return binariesIn(dir);
}

/** A token-authenticated user of the test bed. @public */
export interface KubernetesUser {
  name: string;
  token: string;
}

/** A running kube-apiserver with its etcd. @public */
export interface TestKubernetes {
  /** `https://127.0.0.1:PORT` */
  url: string;
  /** The API server's CA certificate, PEM, and base64 of it (kubeconfig's `certificate-authority-data`). */
  caPem: string;
  caData: string;
  certificates: TestCertificates;
  /** In group `system:masters`. */
  admin: KubernetesUser;
  /** Allowed (by a Role) to manage ConfigMaps, Secrets, Deployments and Flux objects in namespace `team-a` only. */
  restricted: KubernetesUser;
  /** The client certificate user (`testbed client`), bound to `cluster-admin`. */
  clientCertificateUser: string;
  /** kubeconfig for the admin, for `kubectl`. */
  kubeconfig: string;
  binaries: KubernetesBinaries;
  /** Audit log: one JSON event per line for every write (create, update, patch, delete). */
  auditLogPath: string;
  /** Kills the API server (SIGKILL, as a crash would); etcd and its data stay. */
  stopApiServer(): Promise<void>;
  /** Starts the API server again on the same port and data. */
  startApiServer(): Promise<void>;
  /** Runs kubectl as the admin. */
  kubectl(args: string[], input?: string): Promise<string>;
  /** Stops the API server and etcd and deletes their data. */
  stop(): Promise<void>;
}

const AUDIT_POLICY = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  - level: Metadata
    verbs: [create, update, patch, delete, deletecollection]
  - level: None
`;

const RESTRICTED_RBAC = `apiVersion: v1
kind: Namespace
metadata: {name: team-a}
---
apiVersion: v1
kind: Namespace
metadata: {name: team-b}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: automation, namespace: team-a}
rules:
  - apiGroups: ['', apps, source.toolkit.fluxcd.io, kustomize.toolkit.fluxcd.io, helm.toolkit.fluxcd.io, image.toolkit.fluxcd.io]
    resources: ['*']
    verbs: ['*']
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: restricted-automation, namespace: team-a}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: automation}
subjects:
  - {apiGroup: rbac.authorization.k8s.io, kind: User, name: restricted}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: testbed-client-certificate-admin}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects:
  - {apiGroup: rbac.authorization.k8s.io, kind: User, name: testbed client}
`;

/**
 * Starts etcd and kube-apiserver on 127.0.0.1 and free ports (building them first if needed),
 * with static-token users `admin` (system:masters) and `restricted` (one namespace, `team-a`),
 * client-certificate authentication, RBAC, an audit log of writes, and the Flux CRDs installed and
 * established. Only the API server runs: no controllers, so workloads never become ready.
 * Mutation runs take back an idle one instead, reset to this state (`reuse.ts`).
 * @public
 */
export async function startKubernetes(): Promise<TestKubernetes> {
  if (KUBE_REUSE) {
    const pool = reusePool<TestKubernetes>();
    for (const server of pool.filter(s => !s.inUse)) {
      pool.splice(pool.indexOf(server), 1);
      if (!(await server.ready())) {
        await server.stop();
        continue;
      }
      await resetToStartup(server);
      await fs.promises.truncate(server.kube.auditLogPath, 0);
      server.inUse = true;
      pool.push(server);
      return server.kube;
    }
  }
  const binaries = await ensureKubernetesBinaries();
  const dir = await fs.promises.mkdtemp(
    path.join(os.tmpdir(), 'testbed-kube-'),
  );
  const removeDir = trackDirectory(dir);
  let etcd: TrackedProcess | undefined;
  let apiServer: TrackedProcess | undefined;
  const stopAll = async () => {
    await apiServer?.stop('SIGKILL');
    await etcd?.stop('SIGTERM', 5000);
    await removeDir();
  };
  try {
    const certificates = await makeCertificates(path.join(dir, 'certs'));
    await execFileAsync('openssl', [
      'genrsa',
      '-out',
      path.join(dir, 'sa.key'),
      '2048',
    ]);
    const admin = {
      name: 'admin',
      token: `admin-${Math.random().toString(36).slice(2)}`,
    };
    const restricted = {
      name: 'restricted',
      token: `restricted-${Math.random().toString(36).slice(2)}`,
    };
    await fs.promises.writeFile(
      path.join(dir, 'tokens.csv'),
      `${admin.token},admin,admin-uid,"system:masters"\n${restricted.token},restricted,restricted-uid,"team-a-automation"\n`,
    );
    await fs.promises.writeFile(
      path.join(dir, 'audit-policy.yaml'),
      AUDIT_POLICY,
    );
    const auditLogPath = path.join(dir, 'audit.log');

    const [clientPort, peerPort, apiPort] = [
      await freePort(),
      await freePort(),
      await freePort(),
    ];
    etcd = spawnTracked(binaries.etcd, [
      '--name=testbed',
      `--data-dir=${path.join(dir, 'etcd')}`,
      `--listen-client-urls=http://127.0.0.1:${clientPort}`,
      `--advertise-client-urls=http://127.0.0.1:${clientPort}`,
      `--listen-peer-urls=http://127.0.0.1:${peerPort}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`,
      `--initial-cluster=testbed=http://127.0.0.1:${peerPort}`,
      '--unsafe-no-fsync',
      '--log-level=error',
    ]);
    const etcdProcess = etcd;
    await waitUntil(
      async () =>
        (await request(`http://127.0.0.1:${clientPort}/health`)).status === 200,
      {
        timeoutMs: 30_000,
        what: 'etcd',
        describe: () => etcdProcess.output(),
        exited: etcdProcess.exited,
      },
    );

    const url = `https://127.0.0.1:${apiPort}`;
    const apiServerArgs = [
      `--etcd-servers=http://127.0.0.1:${clientPort}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${apiPort}`,
      `--tls-cert-file=${certificates.serverCertFile}`,
      `--tls-private-key-file=${certificates.serverKeyFile}`,
      `--client-ca-file=${certificates.caFile}`,
      `--cert-dir=${path.join(dir, 'apiserver-certs')}`,
      '--service-cluster-ip-range=10.0.0.0/24',
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${path.join(dir, 'sa.key')}`,
      `--service-account-signing-key-file=${path.join(dir, 'sa.key')}`,
      '--authorization-mode=RBAC',
      `--token-auth-file=${path.join(dir, 'tokens.csv')}`,
      '--disable-admission-plugins=ServiceAccount',
      '--allow-privileged=true',
      '--endpoint-reconciler-type=none',
      `--audit-policy-file=${path.join(dir, 'audit-policy.yaml')}`,
      `--audit-log-path=${auditLogPath}`,
      '--audit-log-mode=blocking',
    ];
    const startApiServer = async () => {
      const started = spawnTracked(binaries.kubeApiServer, apiServerArgs);
      apiServer = started;
      await waitUntil(
        async () =>
          (
            await request(`${url}/readyz`, {
              ca: certificates.ca,
              headers: { authorization: `Bearer ${admin.token}` },
            })
          ).status === 200,
        {
          timeoutMs: 120_000,
          intervalMs: 200,
          what: 'kube-apiserver',
          describe: () => started.output(),
          exited: started.exited,
        },
      );
    };
    await startApiServer();

    const kubeconfig = path.join(dir, 'kubeconfig');
    await fs.promises.writeFile(
      kubeconfig,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [
          {
            name: 'testbed',
            cluster: {
              server: url,
              'certificate-authority': certificates.caFile,
            },
          },
        ],
        users: [{ name: 'admin', user: { token: admin.token } }],
        contexts: [
          { name: 'testbed', context: { cluster: 'testbed', user: 'admin' } },
        ],
        'current-context': 'testbed',
      }),
    );
    const kubectl = (args: string[], input?: string) =>
      new Promise<string>((resolve, reject) => {
        const child = execFile(
          binaries.kubectl,
          ['--kubeconfig', kubeconfig, ...args],
          { maxBuffer: 64 * 1024 * 1024 },
          (error, stdout, stderr) =>
            error
              ? reject(
                  new Error(
                    `kubectl ${args.join(' ')}: ${stderr || error.message}`,
                  ),
                )
              : resolve(stdout),
        );
        // kubectl may exit before it reads its input (a command that takes none, or an early
        // error): the write then fails with EPIPE, which must not fail the caller. Its exit status
        // and stderr say what happened.
        child.stdin?.on('error', () => undefined);
        child.stdin?.end(input ?? '');
      });
    await kubectl(['apply', '--server-side', '-f', '-'], RESTRICTED_RBAC);
    await kubectl(['apply', '--server-side', '-f', binaries.crdDir]);
    await kubectl([
      'wait',
      '--for=condition=Established',
      'crd',
      '--all',
      '--timeout=120s',
    ]);

    const kube: TestKubernetes = {
      url,
      caPem: certificates.ca,
      caData: Buffer.from(certificates.ca).toString('base64'),
      certificates,
      admin,
      restricted,
      clientCertificateUser: 'testbed client',
      kubeconfig,
      binaries,
      auditLogPath,
      stopApiServer: async () => {
        await apiServer?.stop('SIGKILL');
      },
      startApiServer,
      kubectl,
      stop: stopAll,
    };
    if (!KUBE_REUSE) return kube;
    const server: Reusable<TestKubernetes> = {
      kube: { ...kube, stop: async () => void (server.inUse = false) },
      etcdUrl: `http://127.0.0.1:${clientPort}`,
      startup: await registryKeys(`http://127.0.0.1:${clientPort}`),
      inUse: true,
      ready: async () =>
        (
          await request(`${url}/readyz`, {
            ca: certificates.ca,
            headers: { authorization: `Bearer ${admin.token}` },
          }).catch(() => ({ status: 0 }))
        ).status === 200,
      stop: stopAll,
    };
    reusePool<TestKubernetes>().push(server);
    return server.kube;
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/** One audit event, the fields the tests look at. @public */
export interface AuditEvent {
  verb: string;
  requestURI: string;
  user: { username: string };
  objectRef?: {
    resource?: string;
    namespace?: string;
    name?: string;
    apiGroup?: string;
  };
  responseStatus?: { code?: number };
}

/** Reads the audit log: every write request the API server received so far. @public */
export async function readAuditLog(
  kube: TestKubernetes,
): Promise<AuditEvent[]> {
  const text = await fs.promises
    .readFile(kube.auditLogPath, 'utf8')
    .catch(() => '');
  return text
    .split('\n')
    .filter(Boolean)
    .map(line => JSON.parse(line) as AuditEvent);
}
