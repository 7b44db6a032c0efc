/*
 * The local sandbox: a real OCI registry on 127.0.0.1 seeded with podinfo and redis tags, a
 * catalog whose automation objects point at it, and an app-config overlay for `start.sh
 * --sandbox`. Runs until interrupted, then stops the registry and removes what it wrote.
 *
 *   node --require @backstage/cli-node/config/nodeTransform.cjs test/testbed/sandbox.ts OUT_DIR
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { pushImage } from './images';
import { startRegistry } from './registry';

async function main(outDir: string) {
  const registry = await startRegistry({ version: '2.8' });
  await pushImage(registry, 'stefanprodan/podinfo', ['6.0.0', '6.0.1', '6.1.0', '6.2.0', '6.3.0', 'latest']);
  await pushImage(registry, 'library/redis', ['7.2.4', '7.2.4-alpine', '7.4.0-alpine', 'latest'], { seed: 'redis' });

  await fs.mkdir(outDir, { recursive: true });
  const host = registry.host;
  await fs.writeFile(
    path.join(outDir, 'catalog.yaml'),
    `# Written by the sandbox: the demo services, scanning the sandbox registry at ${host}.
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: podinfo-sandbox
  description: podinfo, scanned from the local sandbox registry (push a tag there and press Reconcile)
  annotations:
    image-automation.io/manifests: ./automation.yaml
spec: { type: service, lifecycle: experimental, owner: group:default/team-podinfo }
`,
  );
  await fs.writeFile(
    path.join(outDir, 'automation.yaml'),
    `apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata: { name: podinfo-sandbox, namespace: sandbox }
spec: { image: ${host}/stefanprodan/podinfo, interval: 1m }
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata: { name: podinfo-sandbox, namespace: sandbox }
spec:
  imageRepositoryRef: { name: podinfo-sandbox }
  policy: { semver: { range: '>=6.0.0' } }
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata: { name: redis-sandbox, namespace: sandbox }
spec: { image: ${host}/library/redis, interval: 1m }
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata: { name: redis-sandbox, namespace: sandbox }
spec:
  imageRepositoryRef: { name: redis-sandbox }
  filterTags: { pattern: '.*-alpine$' }
  policy: { semver: { range: '>0.0.0-0' } }
`,
  );
  await fs.writeFile(
    path.join(outDir, 'app-config.sandbox.yaml'),
    `# Written by the sandbox (test/testbed/sandbox.ts); removed when it stops.
catalog:
  locations:
    - type: file
      target: ../../examples/entities.yaml
    - type: file
      target: ${path.join(outDir, 'catalog.yaml')}
imageAutomation:
  fileRoots:
    - ../../examples
    - ${outDir}
  # Replaces app-config.yaml's list: the demo's public registries and the sandbox registry (${host}).
  allowedRegistries: [ghcr.io, docker.io, auth.docker.io, '127.0.0.1']
  # Replaces app-config.yaml's grant (lists are not merged): the demo's flux-system and the sandbox's namespace.
  tenancy:
    namespaces:
      - owner: group:default/team-podinfo
        namespaces: [flux-system, sandbox]
`,
  );
  process.stdout.write(`sandbox registry: ${registry.url} (push with skopeo or the test bed)\n`);

  const stop = async () => {
    await registry.stop();
    await fs.rm(outDir, { recursive: true, force: true });
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  setInterval(() => {}, 1 << 30);
}

main(path.resolve(process.argv[2] ?? '.data/sandbox')).catch(error => {
  process.stderr.write(`sandbox: ${error?.stack ?? error}\n`);
  process.exit(1);
});
