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
 * kube-apiserver (issue #18: the same scenarios through Flux and through our backend):
 * image-reflector-controller, and the Flux Operator (ResourceSets and their input providers).
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
 * Starts a Flux controller binary the way every one of them runs in the test bed: in a temporary
 * directory (deleted when it stops), with the admin kubeconfig of `kube`, runtime namespace
 * `flux-system`, metrics and health on free 127.0.0.1 ports; ready when `/readyz` answers 200 and
 * `ready` (when given) holds. A start that fails kills the process and deletes the directory.
 * @public
 */
export async function launchFluxController(launch: {
  name: string;
  version: string;
  binary: string;
  kube: TestKubernetes;
  /** Its flags besides the metrics and health addresses, given its data directory. */
  args(dir: string): string[];
  /** What must hold besides `/readyz`, e.g. its other servers listening. */
  ready?(): Promise<boolean>;
}): Promise<FluxController> {
  const dir = await fs.promises.mkdtemp(
    path.join(os.tmpdir(), `testbed-${launch.name}-`),
  );
  const removeDir = trackDirectory(dir);
  let controller: TrackedProcess | undefined;
  try {
    const [metricsPort, healthPort] = [await freePort(), await freePort()];
    controller = spawnTracked(
      launch.binary,
      [
        `--metrics-addr=127.0.0.1:${metricsPort}`,
        `--health-addr=127.0.0.1:${healthPort}`,
        ...launch.args(dir),
      ],
      {
        cwd: dir,
        env: {
          PATH: process.env.PATH ?? '/usr/bin:/bin',
          HOME: dir,
          KUBECONFIG: launch.kube.kubeconfig,
          RUNTIME_NAMESPACE: 'flux-system',
        },
      },
    );
    const started = controller;
    await waitUntil(
      async () =>
        (await request(`http://127.0.0.1:${healthPort}/readyz`)).status ===
          200 && (launch.ready ? await launch.ready() : true),
      {
        timeoutMs: 60_000,
        intervalMs: 200,
        what: launch.name,
        describe: () => started.output(),
        exited: started.exited,
      },
    );
    return {
      name: launch.name,
      version: launch.version,
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
  return launchFluxController({
    name: 'image-reflector-controller',
    version: IMAGE_REFLECTOR_VERSION,
    binary: imageReflectorBuild().binary,
    kube,
    args: dir => [
      '--enable-leader-election=false',
      `--storage-path=${path.join(dir, 'data')}`,
      '--gc-interval=0',
      `--concurrent=${options.concurrent ?? 4}`,
      '--log-encoding=json',
      '--log-level=info',
    ],
  });
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

/** The Flux Operator release the comparison runs (`build-flux-operator.sh`). @public */
export const FLUX_OPERATOR_VERSION = 'v0.59.0';

/** What `build-flux-operator.sh` made. @public */
export interface FluxOperatorBuild {
  /** The operator (`cmd/operator`). */
  binary: string;
  /** The `flux-operator` CLI of the same release (`cmd/cli`), built in the same `go build`. */
  cli: string;
  /** The release's directory in the Go module cache (`config/crd/bases` holds the CRDs). */
  moduleDir: string;
  buildInfo: string;
}

let operatorBuild: FluxOperatorBuild | undefined;

/**
 * The Flux Operator binaries, built once per machine when missing (cold: the Go 1.27.3 toolchain
 * from the module proxy and a full compile; `scripts/test.sh` builds them before the jest pass). @public
 */
export function fluxOperatorBuild(): FluxOperatorBuild {
  if (!operatorBuild) {
    const dir = execFileSync(path.join(__dirname, 'build-flux-operator.sh'), {
      encoding: 'utf8',
      env: { ...process.env, FLUX_OPERATOR_VERSION },
      stdio: ['ignore', 'pipe', 'inherit'],
    }).trim();
    const read = (name: string) =>
      fs.existsSync(path.join(dir, name))
        ? fs.readFileSync(path.join(dir, name), 'utf8').trim()
        : '';
    operatorBuild = {
      binary: path.join(dir, 'flux-operator'),
      cli: path.join(dir, 'cli'),
      moduleDir: read('MODULE-DIR'),
      buildInfo: read('BUILD-INFO'),
    };
  }
  return operatorBuild;
}

/**
 * Starts the Flux Operator against `kube` with the admin kubeconfig (objects without
 * `serviceAccountName` are applied with that identity, as the operator's own), watching all
 * namespaces, leader election off, metrics and health on 127.0.0.1, the web UI off
 * (`--web-server-port=0`), its storage path in a temporary directory. Its runtime namespace is
 * `flux-system` (created here when missing: the entitlement controller writes a Secret there at
 * start). The operator has no flags to leave controllers out; without a FluxInstance named `flux` in
 * `flux-system` the FluxInstance controller has nothing to do, so only the ResourceSet and
 * ResourceSetInputProvider controllers act on the test's objects (FluxReport writes its report
 * into `flux-system`). The CRDs are already installed by `startKubernetes` (same module version,
 * `kube/versions.env`). Ready when `/readyz` answers 200.
 * @public
 */
export async function startFluxOperator(
  kube: TestKubernetes,
  options: {
    concurrent?: number;
    /** How often a ResourceSet whose dependencies are not ready checks again (the operator's default: 5s). */
    requeueDependency?: string;
  } = {},
): Promise<FluxController> {
  await kube.kubectl(
    ['apply', '--server-side', '-f', '-'],
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'flux-system' },
    }),
  );
  return launchFluxController({
    name: 'flux-operator',
    version: FLUX_OPERATOR_VERSION,
    binary: fluxOperatorBuild().binary,
    kube,
    args: dir => [
      '--enable-leader-election=false',
      '--web-server-port=0',
      `--storage-path=${path.join(dir, 'data')}`,
      `--concurrent=${options.concurrent ?? 4}`,
      `--requeue-dependency=${options.requeueDependency ?? '5s'}`,
      '--log-encoding=json',
      '--log-level=info',
    ],
  });
}
