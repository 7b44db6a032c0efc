import { findLegacyMarkers } from '@imageops/backstage-plugin-image-automation-backend/src/git/readMarker';
import { startGitServer, TestGitServer } from '../../testbed';
import {
  automation,
  GIT_PASSWORD,
  ready,
  startAutomationHarness,
} from './automationHarness';

jest.setTimeout(120_000);

// Issue #14: a marker written without `$` (`{"imagepolicy": "ns:name"}`, the v1alpha1-era form) is
// not applied, as Flux ignores it, and the automation says so, naming the file and the line.

const legacyOnly = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  namespace: apps
spec:
  template:
    spec:
      containers:
        - name: api
          image: ghcr.io/acme/web:1.0.0 # {"imagepolicy": "apps:web"}
`;

const mixed = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: apps
spec:
  template:
    spec:
      containers:
        - name: web
          image: ghcr.io/acme/web:1.0.0 # {"$imagepolicy": "apps:web"}
        - name: sidecar
          # {"imagepolicy": "apps:web:tag"}
          image: ghcr.io/acme/web:1.0.0
`;

describe('markers written without $', () => {
  let git: TestGitServer;

  beforeAll(async () => {
    git = await startGitServer({ users: { git: GIT_PASSWORD } });
  });
  afterAll(async () => {
    await git?.stop();
  });

  it('finds only comments that would be markers but for the $', () => {
    expect(findLegacyMarkers(mixed)).toEqual([
      { line: 13, setter: 'apps:web:tag' },
    ]);
    expect(findLegacyMarkers(legacyOnly)).toEqual([
      { line: 11, setter: 'apps:web' },
    ]);
    expect(
      findLegacyMarkers(
        [
          'a: b # {"imagepolicy": "x:y", "$imagepolicy": "x:y"}', // a real marker (kyaml reads it)
          'a: "#{\\"imagepolicy\\": \\"x:y\\"}"', // inside a string, not a comment
          'a: b # {"imagepolicy": 1}', // not all strings: not a marker in any form
          'a: b # imagepolicy: x:y',
        ].join('\n'),
      ),
    ).toEqual([]);
  });

  it('warns with file and line and leaves those values alone, while real markers are applied', async () => {
    await git.createRepository('legacy', {
      'deploy/api.yaml': legacyOnly,
      'deploy/web.yaml': mixed,
    });
    const h = await startAutomationHarness({ git, repo: 'legacy' });
    try {
      await h.declare({ web: { name: 'ghcr.io/acme/web', tag: '1.1.0' } });
      const before = (await git.git('legacy', ['rev-parse', 'main'])).trim();
      const result = await h.run(automation('auto'));
      expect(ready(result)).toEqual({
        status: 'True',
        reason: 'Succeeded',
        message: 'repository up-to-date',
      });
      const head = (await git.git('legacy', ['rev-parse', 'main'])).trim();
      expect(head).not.toBe(before);
      const diff = await git.git('legacy', [
        'diff',
        '--unified=0',
        before,
        head,
      ]);
      expect(diff.split('\n').filter(l => /^[-+][^-+]/.test(l))).toEqual([
        '-          image: ghcr.io/acme/web:1.0.0 # {"$imagepolicy": "apps:web"}',
        '+          image: ghcr.io/acme/web:1.1.0 # {"$imagepolicy": "apps:web"}',
      ]);
      expect(result.events?.filter(e => e.type === 'Warning')).toEqual([
        {
          type: 'Warning',
          reason: 'SetterNotApplied',
          message:
            'deploy/api.yaml:11: not updated: the marker {"imagepolicy": "apps:web"} has no "$" and is ignored, as Flux ignores it; write # {"$imagepolicy": "apps:web"}',
        },
        {
          type: 'Warning',
          reason: 'SetterNotApplied',
          message:
            'deploy/web.yaml:13: not updated: the marker {"imagepolicy": "apps:web:tag"} has no "$" and is ignored, as Flux ignores it; write # {"$imagepolicy": "apps:web:tag"}',
        },
      ]);
    } finally {
      await h.stop();
    }
  });
});
