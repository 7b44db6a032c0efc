/*
 * The local sandbox as a library: a real OCI registry, Git server and kube-apiserver + etcd on
 * 127.0.0.1, seeded so that every workflow of the product can be watched without internet access,
 * plus the catalog, manifests and `imageAutomation` config that point the backend at them.
 * `sandbox.ts` (behind `scripts/start.sh --sandbox`) and the sandbox browser test both use it.
 *
 * The world:
 * - registry: `stefanprodan/podinfo` (6.6.0 … 6.8.0, latest), the podinfo Helm chart as an OCI
 *   artifact (`stefanprodan/charts/podinfo`) and `library/redis` (… -alpine);
 * - Git server: repository `fleet` with `apps/{staging,production}/podinfo/` holding a HelmRelease and
 *   a kustomization.yaml whose image values carry `$imagepolicy` markers;
 * - cluster `sandbox` (a catalog `kubernetes-cluster` Resource) with Flux's CRDs, into which the
 *   Gitless ResourceSet applies an OCIRepository and a HelmRelease;
 * - entities: `podinfo-staging` (Git: commits each new version at once), `podinfo-production`
 *   (Git, downstream: after staging ran the version, and one approval) and `podinfo-gitless` (the
 *   Flux Operator's Gitless guide: three OCIArtifactTag providers and a Permute ResourceSet).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { MediaTypes, pushImage } from './images';
import { startGitServer, TestGitServer } from './gitServer';
import { startRegistry, TestRegistry } from './registry';
import {
  ensureKubernetesBinaries,
  kubernetesCacheDir,
  startKubernetes,
  TestKubernetes,
} from './kube/kubernetes';

/** The images and charts of the sandbox registry, by the short name `sandbox-push.sh` takes. */
export const SANDBOX_REPOSITORIES = {
  podinfo: { repository: 'stefanprodan/podinfo', chart: false },
  chart: { repository: 'stefanprodan/charts/podinfo', chart: true },
  redis: { repository: 'library/redis', chart: false },
} as const;

/** A short name of {@link SANDBOX_REPOSITORIES}. */
export type SandboxImage = keyof typeof SANDBOX_REPOSITORIES;

const SEED_TAGS: Record<SandboxImage, string[]> = {
  podinfo: ['6.6.0', '6.7.0', '6.7.1', '6.8.0', 'latest'],
  chart: ['6.6.0', '6.7.0', '6.8.0'],
  redis: ['7.2.4', '7.2.4-alpine', '7.4.0-alpine', 'latest'],
};

/** The newest seeded podinfo version, which the Git repository starts at. */
export const SANDBOX_START_VERSION = '6.8.0';

/** Entities of the sandbox catalog. */
export const SANDBOX_ENTITIES = {
  staging: 'component:default/podinfo-staging',
  production: 'component:default/podinfo-production',
  gitless: 'component:default/podinfo-gitless',
} as const;

/**
 * The Git user the automations push as. Not a word found elsewhere: the backend redacts every
 * occurrence of a secret config value (usernames too) from its logs.
 */
const GIT_USER = 'automation-writer';

/** The Git repository of the sandbox and the cluster's name. */
export const SANDBOX_GIT_REPOSITORY = 'fleet';
export const SANDBOX_CLUSTER = 'sandbox';

/** What another process needs to reach a running sandbox (`.data/sandbox/state.json`). */
export interface SandboxState {
  registryUrl: string;
  registryHost: string;
  gitUrl: string;
  kubeUrl: string;
  /** Kubeconfig of the admin, for `kubectl --kubeconfig`. */
  kubeconfig: string;
  /** How often the sandbox's ImageRepositories and providers scan. */
  scanIntervalSeconds: number;
  /** The process that runs the sandbox (its servers stop with it). */
  pid: number;
}

/** A running sandbox. */
export interface Sandbox {
  registry: TestRegistry;
  git: TestGitServer;
  kube: TestKubernetes;
  /** The catalog (`catalog.yaml`) and the manifests it names (relative paths), by file name. */
  files: Record<string, string>;
  /**
   * The `imageAutomation` config the backend needs for the sandbox: registry, Git credential,
   * cluster and its policy, engine intervals. Merge it over app-config's.
   */
  imageAutomationConfig: Record<string, any>;
  state: Omit<SandboxState, 'pid'>;
  /** Pushes `tag` of a sandbox image (new content, so a new digest). */
  push(image: SandboxImage, tag: string): Promise<string>;
  /** Stops the cluster, Git server and registry and deletes their data. */
  stop(): Promise<void>;
}

/** Options of {@link startSandbox}. */
export interface SandboxOptions {
  /** Progress lines ("starting kube-apiserver…"). Default: none. */
  log?: (line: string) => void;
  /** Scan and provider interval in seconds. Default 30. */
  scanIntervalSeconds?: number;
}

/** Writes `state.json` into `dir`, where `sandbox-push.sh` finds the running sandbox. */
export function writeSandboxState(
  dir: string,
  sandbox: Pick<Sandbox, 'state'>,
  pid = process.pid,
): SandboxState {
  const state: SandboxState = { ...sandbox.state, pid };
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(
    path.join(dir, 'state.json'),
    `${JSON.stringify(state, null, 2)}\n`,
  );
  return state;
}

/**
 * Pushes `tag` of a sandbox image to a registry (the running sandbox's, from another process too:
 * pushing is plain HTTP). The content depends on the tag, so each tag has its own digest.
 */
export async function pushSandboxTag(
  registry: Pick<TestRegistry, 'host' | 'url'>,
  image: SandboxImage,
  tag: string,
): Promise<string> {
  const { repository, chart } = SANDBOX_REPOSITORIES[image];
  const target: TestRegistry = {
    version: '2.8',
    storageDir: '',
    stop: async () => {},
    ...registry,
  };
  const pushed = await pushImage(target, repository, [tag], {
    seed: `${repository}:${tag}`,
    ...(chart ? { configMediaType: MediaTypes.helmConfig } : {}),
  });
  return pushed.digest;
}

const FLEET_README = `# fleet

The sandbox's Git repository. Image automation rewrites the values marked with
\`# {"$imagepolicy": "<namespace>:<policy>:tag"}\` and pushes a commit to \`main\`:
\`apps/staging\` at once, \`apps/production\` after staging ran the version and one approval.
`;

function fleetFiles(
  registryHost: string,
  version: string,
): Record<string, string> {
  const files: Record<string, string> = { 'README.md': FLEET_README };
  for (const stage of ['staging', 'production'] as const) {
    const ns = `podinfo-${stage}`;
    files[
      `apps/${stage}/podinfo/helmrelease.yaml`
    ] = `apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: podinfo
  namespace: ${ns}
spec:
  interval: 30m
  chart:
    spec:
      chart: podinfo
      version: "6.x"
      sourceRef: { kind: HelmRepository, name: podinfo }
  values:
    image:
      repository: ${registryHost}/stefanprodan/podinfo # {"$imagepolicy": "${ns}:podinfo:name"}
      tag: ${version} # {"$imagepolicy": "${ns}:podinfo:tag"}
`;
    files[
      `apps/${stage}/podinfo/kustomization.yaml`
    ] = `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: ${ns}
resources:
  - helmrepository.yaml
  - helmrelease.yaml
  - smoke-test.yaml
images:
  - name: ghcr.io/stefanprodan/podinfo
    newName: ${registryHost}/stefanprodan/podinfo # {"$imagepolicy": "${ns}:podinfo:name"}
    newTag: ${version} # {"$imagepolicy": "${ns}:podinfo:tag"}
`;
    files[
      `apps/${stage}/podinfo/helmrepository.yaml`
    ] = `apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata:
  name: podinfo
  namespace: ${ns}
spec:
  type: oci
  interval: 12h
  url: oci://${registryHost}/stefanprodan/charts
`;
    files[
      `apps/${stage}/podinfo/smoke-test.yaml`
    ] = `# Runs podinfo's CLI against the release; kustomize sets its image from kustomization.yaml.
apiVersion: batch/v1
kind: Job
metadata:
  name: podinfo-smoke-test
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: check
          image: ghcr.io/stefanprodan/podinfo
          command: [podcli, check, http, "http://podinfo:9898/readyz"]
`;
  }
  return files;
}

function catalogYaml(registryHost: string, kube: TestKubernetes): string {
  return `# The sandbox's catalog (written by test/testbed/sandboxWorld.ts). Images come from the sandbox
# registry at ${registryHost}; push a new tag with: scripts/sandbox-push.sh podinfo 6.9.0
apiVersion: backstage.io/v1alpha1
kind: Group
metadata:
  name: team-sandbox
  description: Owns the sandbox services
spec: { type: team, children: [] }
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: podinfo-staging
  description: "Git workflow: each new podinfo version is committed to apps/staging of the sandbox Git repository at once"
  annotations:
    image-automation.io/manifests: ./podinfo-staging.yaml
spec: { type: service, lifecycle: experimental, owner: group:default/team-sandbox }
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: podinfo-production
  description: "Git workflow, downstream of podinfo-staging: a version is committed to apps/production once staging ran it and one person approved"
  annotations:
    image-automation.io/manifests: ./podinfo-production.yaml
spec: { type: service, lifecycle: experimental, owner: group:default/team-sandbox }
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: podinfo-gitless
  description: "Gitless workflow (Flux Operator guide): OCI tags of the app image, its chart and redis feed a ResourceSet applied into the sandbox cluster"
  annotations:
    image-automation.io/manifests: ./podinfo-gitless.yaml
    image-automation.io/clusters: ${SANDBOX_CLUSTER}
spec: { type: service, lifecycle: experimental, owner: group:default/team-sandbox }
---
apiVersion: backstage.io/v1alpha1
kind: Resource
metadata:
  name: ${SANDBOX_CLUSTER}
  description: The sandbox's kube-apiserver + etcd (no controllers, so nothing runs; applied objects can be read back)
  annotations:
    kubernetes.io/api-server: ${kube.url}
    kubernetes.io/api-server-certificate-authority: ${kube.caData}
    kubernetes.io/auth-provider: serviceAccount
spec: { type: kubernetes-cluster, owner: group:default/team-sandbox }
`;
}

function gitManifests(
  stage: 'staging' | 'production',
  registryHost: string,
  gitUrl: string,
  interval: string,
): string {
  const ns = `podinfo-${stage}`;
  const gates =
    stage === 'production'
      ? `
  annotations:
    # Promotions: only a version podinfo-staging has run (Ready), and only once someone approved it.
    promotion.image-automation.io/after: ${SANDBOX_ENTITIES.staging}
    promotion.image-automation.io/approvals: "1"`
      : '';
  return `# ${
    stage === 'staging'
      ? 'Commits every new podinfo version to apps/staging at once (as Flux does).'
      : 'Commits to apps/production what staging ran, once approved.'
  }
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata:
  name: podinfo
  namespace: ${ns}
spec:
  image: ${registryHost}/stefanprodan/podinfo
  interval: ${interval}
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata:
  name: podinfo
  namespace: ${ns}
spec:
  imageRepositoryRef:
    name: podinfo
  policy:
    semver:
      range: ">=6.0.0"
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: fleet
  namespace: ${ns}
spec:
  interval: 5m
  url: ${gitUrl}
  ref:
    branch: main
  secretRef:
    name: sandbox-git
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageUpdateAutomation
metadata:
  name: podinfo
  namespace: ${ns}${gates}
spec:
  interval: 5m
  sourceRef:
    kind: GitRepository
    name: fleet
  git:
    checkout:
      ref:
        branch: main
    commit:
      author:
        email: fluxcdbot@users.noreply.github.com
        name: fluxcdbot
      messageTemplate: |
        ${stage}: update podinfo
        {{ range .Changed.Changes }}{{ print .OldValue }} -> {{ println .NewValue }}{{ end }}
    push:
      branch: main
  update:
    path: ./apps/${stage}
    strategy: Setters
`;
}

function gitlessManifests(registryHost: string, interval: string): string {
  const ns = 'podinfo-gitless';
  return `# The Flux Operator's Gitless guide ("ResourceSets for app image updates"): three providers export
# the newest OCI tags (the app image, its Helm chart, redis) and a Permute ResourceSet renders an
# OCIRepository and a HelmRelease from them, applied into the cluster named by the entity's
# image-automation.io/clusters annotation.
apiVersion: fluxcd.controlplane.io/v1
kind: ResourceSetInputProvider
metadata:
  name: podinfo-chart
  namespace: ${ns}
  annotations:
    fluxcd.controlplane.io/reconcileEvery: "${interval}"
spec:
  type: OCIArtifactTag
  url: oci://${registryHost}/stefanprodan/charts/podinfo
  filter:
    semver: ">=6.0.0"
    limit: 1
---
apiVersion: fluxcd.controlplane.io/v1
kind: ResourceSetInputProvider
metadata:
  name: podinfo-image
  namespace: ${ns}
  annotations:
    fluxcd.controlplane.io/reconcileEvery: "${interval}"
spec:
  type: OCIArtifactTag
  url: oci://${registryHost}/stefanprodan/podinfo
  filter:
    semver: ">=6.0.0"
    limit: 1
---
apiVersion: fluxcd.controlplane.io/v1
kind: ResourceSetInputProvider
metadata:
  name: redis-image
  namespace: ${ns}
  annotations:
    fluxcd.controlplane.io/reconcileEvery: "${interval}"
spec:
  type: OCIArtifactTag
  url: oci://${registryHost}/library/redis
  filter:
    semver: ">0.0.0-0"
    includeTag: ".*-alpine$"
    limit: 1
---
apiVersion: fluxcd.controlplane.io/v1
kind: ResourceSet
metadata:
  name: podinfo
  namespace: ${ns}
spec:
  inputStrategy:
    name: Permute
  inputsFrom:
    - kind: ResourceSetInputProvider
      name: podinfo-chart
    - kind: ResourceSetInputProvider
      name: podinfo-image
    - kind: ResourceSetInputProvider
      name: redis-image
  resources:
    - apiVersion: source.toolkit.fluxcd.io/v1
      kind: OCIRepository
      metadata:
        name: podinfo
        namespace: << inputs.podinfo_chart.provider.namespace >>
      spec:
        interval: 12h
        url: oci://${registryHost}/stefanprodan/charts/podinfo
        ref:
          tag: << inputs.podinfo_chart.tag >>
    - apiVersion: helm.toolkit.fluxcd.io/v2
      kind: HelmRelease
      metadata:
        name: podinfo
        namespace: << inputs.podinfo_chart.provider.namespace >>
      spec:
        interval: 30m
        releaseName: podinfo
        chartRef:
          kind: OCIRepository
          name: podinfo
        values:
          image:
            repository: ${registryHost}/stefanprodan/podinfo
            tag: "<< inputs.podinfo_image.tag >>@<< inputs.podinfo_image.digest >>"
          redis:
            enabled: true
            repository: ${registryHost}/library/redis
            tag: "<< inputs.redis_image.tag >>@<< inputs.redis_image.digest >>"
`;
}

/**
 * Starts the sandbox: registry (seeded), Git server (repository `fleet`), kube-apiserver + etcd
 * (building them first when `~/.cache/image-automation` lacks them, 8–15 minutes, with progress on
 * the console) with namespace `podinfo-gitless`. Everything is stopped by `stop()` or when this
 * process exits.
 */
export async function startSandbox(
  options: SandboxOptions = {},
): Promise<Sandbox> {
  const log = options.log ?? (() => {});
  const scanIntervalSeconds = options.scanIntervalSeconds ?? 30;
  const interval = `${scanIntervalSeconds}s`;
  const kubeBuilt = [
    'bin/kube-apiserver',
    'bin/etcd',
    'bin/kubectl',
    'crds/.complete',
  ].every(f => fs.existsSync(path.join(kubernetesCacheDir(), f)));
  if (!kubeBuilt) {
    log(
      `kube-apiserver, etcd and the Flux CRDs are not in ${kubernetesCacheDir()} yet: building them (8–15 minutes, once per machine)…`,
    );
    await ensureKubernetesBinaries();
  }
  let registry: TestRegistry | undefined;
  let git: TestGitServer | undefined;
  let kube: TestKubernetes | undefined;
  const stop = async () => {
    await Promise.all([kube?.stop(), git?.stop(), registry?.stop()]);
  };
  try {
    log('starting the registry, the Git server and kube-apiserver + etcd…');
    const gitPassword = crypto.randomBytes(12).toString('hex');
    const started = await Promise.all([
      startRegistry({ version: '2.8' }),
      // Anonymous reads: `git clone` the repository to look at the commits; pushes need the user.
      startGitServer({
        users: { [GIT_USER]: gitPassword },
        anonymousRead: true,
      }),
      startKubernetes(),
    ]);
    [registry, git, kube] = started;
    const [reg, gitServer, cluster] = started;

    log(`seeding the registry at ${reg.host}…`);
    for (const [image, tags] of Object.entries(SEED_TAGS) as Array<
      [SandboxImage, string[]]
    >) {
      for (const tag of tags) {
        await pushSandboxTag(reg, image, tag);
      }
    }
    await gitServer.createRepository(
      SANDBOX_GIT_REPOSITORY,
      fleetFiles(reg.host, SANDBOX_START_VERSION),
    );
    await cluster.kubectl(['create', 'namespace', 'podinfo-gitless']);

    const gitUrl = gitServer.url(SANDBOX_GIT_REPOSITORY);
    const gitHost = new URL(gitServer.baseUrl).host;
    const files = {
      'catalog.yaml': catalogYaml(reg.host, cluster),
      'podinfo-staging.yaml': gitManifests(
        'staging',
        reg.host,
        gitUrl,
        interval,
      ),
      'podinfo-production.yaml': gitManifests(
        'production',
        reg.host,
        gitUrl,
        interval,
      ),
      'podinfo-gitless.yaml': gitlessManifests(reg.host, interval),
    };
    const imageAutomationConfig = {
      allowedRegistries: [reg.host],
      credentials: {
        // The Git server's user, for the two Git entities, sent only to the sandbox Git server.
        'sandbox-git': {
          type: 'basic',
          username: GIT_USER,
          password: gitPassword,
          allowedEntities: [
            SANDBOX_ENTITIES.staging,
            SANDBOX_ENTITIES.production,
          ],
          hosts: [gitHost],
        },
        // The cluster's token; reserved for the cluster that names it.
        'sandbox-cluster': { type: 'token', token: cluster.admin.token },
      },
      // The sandbox Git server speaks plain HTTP.
      git: { insecureHosts: [gitHost] },
      kubernetes: {
        clusters: [
          {
            name: SANDBOX_CLUSTER,
            credential: 'sandbox-cluster',
            url: cluster.url,
            allowedNamespaces: ['podinfo-gitless'],
            allowedKinds: [
              'source.toolkit.fluxcd.io/OCIRepository',
              'helm.toolkit.fluxcd.io/HelmRelease',
            ],
            allowedEntities: [SANDBOX_ENTITIES.gitless],
          },
        ],
      },
      engine: {
        pollIntervalSeconds: 2,
        minIntervalSeconds: Math.min(10, scanIntervalSeconds),
      },
    };
    return {
      registry: reg,
      git: gitServer,
      kube: cluster,
      files,
      imageAutomationConfig,
      state: {
        registryUrl: reg.url,
        registryHost: reg.host,
        gitUrl,
        kubeUrl: cluster.url,
        kubeconfig: cluster.kubeconfig,
        scanIntervalSeconds,
      },
      push: (image, tag) => pushSandboxTag(reg, image, tag),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
