import fs from 'node:fs';
import path from 'node:path';
import { startGitServer, TestGitServer } from '../../testbed';
import {
  automation,
  GIT_PASSWORD,
  ready,
  startAutomationHarness,
} from './automationHarness';

jest.setTimeout(60_000);

const fixtures = path.resolve(
  __dirname,
  '../../../plugins/image-automation-backend/src/git/__fixtures__/setters',
);
const digest =
  'sha256:6745aaad46ea8b1a6c1b0cd6d2da2c4a5f5aae2d0e5a4e8c7b5b2a0c3d4e14be';

function readDir(dir: string): Record<string, string> {
  return Object.fromEntries(
    fs
      .readdirSync(dir)
      .map(name => [name, fs.readFileSync(path.join(dir, name), 'utf8')]),
  );
}

describe('the upstream setters golden case through a real Git server', () => {
  let git: TestGitServer;
  beforeAll(async () => {
    git = await startGitServer({ users: { git: GIT_PASSWORD } });
  });
  afterAll(async () => {
    await git?.stop();
  });

  it('commits exactly the expected files, byte for byte (the dangling symlink case is in applyPoliciesToTree.test.ts)', async () => {
    await git.createRepository(
      'golden',
      readDir(path.join(fixtures, 'original')),
    );
    const h = await startAutomationHarness({
      git,
      repo: 'golden',
      namespace: 'automation-ns',
    });
    try {
      await h.declare({
        policy: { name: 'index.repo.fake/updated', tag: 'v1.0.1' },
        unchanged: { name: 'image', tag: 'v1.0.0' },
        'policy-with-digest': { name: 'image', tag: 'v1.0.0', digest },
      });
      const template =
        '{{ range $file, $_ := .Changed.FileChanges }}{{ $file }} {{ end }}';
      const result = await h.run(
        automation(
          'auto',
          { commit: { messageTemplate: template } },
          'automation-ns',
        ),
      );
      expect(ready(result)?.status).toBe('True');
      for (const [name, content] of Object.entries(
        readDir(path.join(fixtures, 'expected')),
      )) {
        expect([name, await git.readFile('golden', 'main', name)]).toEqual([
          name,
          content,
        ]);
      }
      expect(
        await git.git('golden', ['diff', '--name-only', 'main~1', 'main']),
      ).toBe('Kustomization\nkustomization.yml\nmarked.yaml\n');
      expect(
        await git.git('golden', ['log', '-1', '--format=%B', 'main']),
      ).toBe('Kustomization kustomization.yml marked.yaml \n');
      expect(
        result.events?.filter(e => e.type === 'Warning').map(e => e.message),
      ).toEqual([
        "otherns.yaml:10: marker 'other-namespace:policy' names a policy in namespace 'other-namespace'; only policies in the automation's namespace 'automation-ns' are applied",
      ]);
    } finally {
      await h.stop();
    }
  });

  it('changes only the marked value of a file with Helm template text, comments, block scalars and flow style', async () => {
    const original = [
      '# Rendered by hand from a chart; keep the comments',
      'apiVersion: apps/v1   # odd spacing kept',
      'kind: Deployment',
      'metadata:',
      '    name: {{ .Values.name }}',
      '    labels: {app: web,   tier: "front"}',
      'spec:',
      '    template:',
      '        spec:',
      '            containers:',
      '              -   name: web',
      '                  image: "ghcr.io/acme/web:1.0.0"     # {"$imagepolicy": "automation-ns:policy"}',
      '                  args: [--port, "8080"]',
      '                  command:',
      '                    - sh',
      '                    - -c',
      '                    - |',
      '                      echo trailing spaces   ',
      '                      exit 0',
      '',
      '',
      '---',
      '# second document untouched',
      'x: 1',
      '',
    ].join('\n');
    await git.createRepository('helm', { 'chart/deployment.yaml': original });
    const h = await startAutomationHarness({
      git,
      repo: 'helm',
      namespace: 'automation-ns',
    });
    try {
      await h.declare({ policy: { name: 'ghcr.io/acme/web', tag: '1.1.0' } });
      expect(
        ready(await h.run(automation('auto', {}, 'automation-ns')))?.status,
      ).toBe('True');
      expect(await git.readFile('helm', 'main', 'chart/deployment.yaml')).toBe(
        original.replace(
          '"ghcr.io/acme/web:1.0.0"',
          '"ghcr.io/acme/web:1.1.0"',
        ),
      );
    } finally {
      await h.stop();
    }
  });
});
