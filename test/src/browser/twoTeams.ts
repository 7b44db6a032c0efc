import { TestGitServer } from '../../testbed';
import { RunningApp } from './startApp';
import { apiGet, until } from './tabDriver';

/*
 * The world the promotions tab and fleet page tests share: the guest user owns `podinfo`, and
 * `team-shop` owns `shop`; each has an image automation on a test-bed Git repository of its own,
 * gated by one approval, under the demo's restrictive permission policy.
 */

/** The catalog: `podinfo` (the guest's; `clusters` names its target clusters) and `shop`. */
export function twoTeamsCatalog(
  options: { podinfoClusters?: string } = {},
): string {
  const clusters = options.podinfoClusters
    ? `\n    image-automation.io/clusters: ${options.podinfoClusters}`
    : '';
  return `
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: podinfo
  annotations:
    image-automation.io/manifests: ./podinfo.yaml${clusters}
spec: { type: service, lifecycle: production, owner: user:development/guest }
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: shop
  annotations:
    image-automation.io/manifests: ./shop.yaml
spec: { type: service, lifecycle: production, owner: group:default/team-shop }
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: { name: team-shop }
spec: { type: team, children: [] }
`;
}

/** An image, its policy, a Git repository and an automation gated by one approval, in `namespace`. */
export function gitAutomation(
  namespace: string,
  image: string,
  gitUrl: string,
): string {
  return `
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata: { name: app, namespace: ${namespace} }
spec: { image: ${image}, interval: 1h }
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata: { name: app, namespace: ${namespace} }
spec:
  imageRepositoryRef: { name: app }
  policy: { semver: { range: '>=1.0.0 <2.0.0' } }
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: { name: fleet, namespace: ${namespace} }
spec:
  interval: 1h
  url: ${gitUrl}
  ref: { branch: main }
  secretRef: { name: git-writer }
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageUpdateAutomation
metadata:
  name: fleet
  namespace: ${namespace}
  annotations:
    promotion.image-automation.io/approvals: "1"
spec:
  interval: 1h
  sourceRef: { kind: GitRepository, name: fleet }
  git:
    commit:
      author: { email: bot@example.com, name: bot }
    push: { branch: main }
  update: { path: ./deploy, strategy: Setters }
`;
}

/** Creates `podinfo-ns` and `shop-ns` on the Git server, each with a Deployment marked for its policy at `tag`. */
export async function createTeamRepositories(
  git: TestGitServer,
  image: string,
  tag: string,
): Promise<void> {
  for (const namespace of ['podinfo-ns', 'shop-ns']) {
    await git.createRepository(namespace, {
      'deploy/app.yaml': `apiVersion: apps/v1
kind: Deployment
metadata: { name: app, namespace: default }
spec:
  template:
    spec:
      containers:
      - name: app
        image: ${image}:${tag} # {"$imagepolicy": "${namespace}:app"}
`,
    });
  }
}

/**
 * The backend config for the automations' Git credential (#13: granted to both entities, bound
 * to the test bed's Git host, which speaks plain HTTP).
 */
export function gitWriterConfig(git: TestGitServer) {
  const host = new URL(git.baseUrl).host;
  return {
    credentials: {
      'git-writer': {
        type: 'basic',
        username: 'writer',
        password: 's3cret-token',
        allowedEntities: [
          'component:default/podinfo',
          'component:default/shop',
        ],
        hosts: [host],
      },
    },
    git: { insecureHosts: [host] },
  };
}

/** Waits until each entity holds one pending promotion. */
export async function waitForPendingPromotions(
  app: RunningApp,
  entities: string[],
): Promise<void> {
  for (const entity of entities) {
    await until(
      `the pending promotion of ${entity}`,
      async () => {
        const { items } = await apiGet(
          app,
          `/entities/component/default/${entity}/promotions?state=pending`,
        );
        return items.length === 1 ? true : undefined;
      },
      120_000,
    );
  }
}
