import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './freePort';
import { request } from './httpRequest';
import type { TestKubernetes } from './kube/kubernetes';
import {
  spawnTracked,
  trackDirectory,
  TrackedProcess,
  waitUntil,
} from './processes';

/**
 * The real Flux controllers, built from the Go module proxy, run against the test bed's
 * kube-apiserver (issue #18: the same scenarios through Flux and through our backend).
 * Only image-reflector-controller for now.
 */

/** The image-reflector-controller release the comparison runs (`build-image-reflector.sh`). @public */
export const IMAGE_REFLECTOR_VERSION = 'v1.1.1';

/** What `build-image-reflector.sh` made. @public */
export interface ImageReflectorBuild {
  binary: string;
  /** The release's directory in the Go module cache (its `config/crd/bases` holds the CRDs). */
  moduleDir: string;
  buildInfo: string;
}

let build: ImageReflectorBuild | undefined;

/**
 * The image-reflector-controller binary, built once per machine when missing (cold: several
 * minutes; `scripts/test.sh` builds it before the jest pass). @public
 */
export function imageReflectorBuild(): ImageReflectorBuild {
  if (!build) {
    const dir = execFileSync(path.join(__dirname, 'build-image-reflector.sh'), {
      encoding: 'utf8',
      env: { ...process.env, IMAGE_REFLECTOR_VERSION },
      stdio: ['ignore', 'pipe', 'inherit'],
    }).trim();
    const read = (name: string) =>
      fs.existsSync(path.join(dir, name))
        ? fs.readFileSync(path.join(dir, name), 'utf8').trim()
        : '';
    build = {
      binary: path.join(dir, 'image-reflector-controller'),
      moduleDir: read('MODULE-DIR'),
      buildInfo: read('BUILD-INFO'),
    };
  }
  return build;
}

/** A running Flux controller. @public */
export interface FluxController {
  name: string;
  version: string;
  /** The tail of its log (JSON lines). */
  output(): string;
  /** Stops it (SIGTERM, then SIGKILL) and deletes its data directory. */
  stop(): Promise<void>;
}

/**
 * Starts image-reflector-controller against `kube` (admin kubeconfig), watching all namespaces,
 * leader election off, metrics and health endpoints on 127.0.0.1, its tag database (badger) in a
 * temporary directory, no events address. Ready when its `/readyz` answers 200. The CRDs are
 * already installed by `startKubernetes` (same module version, `kube/versions.env`).
 * @public
 */
export async function startImageReflectorController(
  kube: TestKubernetes,
  options: { concurrent?: number } = {},
): Promise<FluxController> {
  const { binary } = imageReflectorBuild();
  const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'testbed-irc-'));
  const removeDir = trackDirectory(dir);
  let controller: TrackedProcess | undefined;
  try {
    const [metricsPort, healthPort] = [await freePort(), await freePort()];
    controller = spawnTracked(
      binary,
      [
        `--metrics-addr=127.0.0.1:${metricsPort}`,
        `--health-addr=127.0.0.1:${healthPort}`,
        '--enable-leader-election=false',
        `--storage-path=${path.join(dir, 'data')}`,
        '--gc-interval=0',
        `--concurrent=${options.concurrent ?? 4}`,
        '--log-encoding=json',
        '--log-level=info',
      ],
      {
        cwd: dir,
        env: {
          PATH: process.env.PATH ?? '/usr/bin:/bin',
          HOME: dir,
          KUBECONFIG: kube.kubeconfig,
          RUNTIME_NAMESPACE: 'flux-system',
        },
      },
    );
    const started = controller;
    await waitUntil(
      async () =>
        (await request(`http://127.0.0.1:${healthPort}/readyz`)).status === 200,
      {
        timeoutMs: 60_000,
        intervalMs: 200,
        what: 'image-reflector-controller',
        describe: () => started.output(),
        exited: started.exited,
      },
    );
    return {
      name: 'image-reflector-controller',
      version: IMAGE_REFLECTOR_VERSION,
      output: () => started.output(),
      async stop() {
        await started.stop('SIGTERM', 10_000);
        await removeDir();
      },
    };
  } catch (error) {
    await controller?.stop('SIGKILL');
    await removeDir();
    throw error;
  }
}

/** A Kubernetes condition. @public */
export interface KubeCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  observedGeneration?: number;
  lastTransitionTime?: string;
}

/** GETs an API path of the test apiserver as the admin; undefined on 404. @public */
export async function kubeGet<T = any>(
  kube: TestKubernetes,
  apiPath: string,
): Promise<T | undefined> {
  const response = await request(`${kube.url}${apiPath}`, {
    ca: kube.caPem,
    headers: {
      authorization: `Bearer ${kube.admin.token}`,
      accept: 'application/json',
    },
  });
  if (response.status === 404) return undefined;
  if (response.status !== 200) {
    throw new Error(
      `GET ${apiPath}: ${response.status} ${response.body
        .toString('utf8')
        .slice(0, 500)}`,
    );
  }
  return JSON.parse(response.body.toString('utf8')) as T;
}

/** Lists the objects of one namespaced resource in every namespace, e.g. `/apis/image.toolkit.fluxcd.io/v1/imagepolicies`. @public */
export async function kubeList<T = any>(
  kube: TestKubernetes,
  apiPath: string,
): Promise<T[]> {
  return ((await kubeGet<{ items: T[] }>(kube, apiPath))?.items ?? []) as T[];
}

/**
 * True once a Flux object's Ready condition is True or False (not Unknown: a reconcile is still
 * under way) and about the object's current generation. A failing object keeps its
 * `status.observedGeneration` from before (Flux sets it only when a reconcile succeeds or stalls),
 * so the condition's own `observedGeneration` is what tells.
 * @public
 */
export function settled(object: {
  metadata?: { generation?: number };
  status?: { observedGeneration?: number; conditions?: KubeCondition[] };
}): boolean {
  const ready = object.status?.conditions?.find(c => c.type === 'Ready');
  return (
    !!ready &&
    ready.status !== 'Unknown' &&
    (ready.observedGeneration ?? object.status?.observedGeneration) ===
      object.metadata?.generation
  );
}
