import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ImageRef } from '@imageops/backstage-plugin-image-automation-common';
import { applyPoliciesToTree } from './applyPoliciesToTree';
import { secureJoin } from './secureJoin';

const fixtures = path.join(__dirname, '__fixtures__/setters');
const digest =
  'sha256:6745aaad46ea8b1a6c1b0cd6d2da2c4a5f5aae2d0e5a4e8c7b5b2a0c3d4e14be';
const policies = new Map<string, ImageRef | undefined>([
  ['policy', { name: 'index.repo.fake/updated', tag: 'v1.0.1' }],
  ['unchanged', { name: 'image', tag: 'v1.0.0' }],
  ['policy-with-digest', { name: 'image', tag: 'v1.0.0', digest }],
]);

describe('applyPoliciesToTree', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'setters-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('reproduces the upstream setters golden case', async () => {
    fs.cpSync(path.join(fixtures, 'original'), dir, { recursive: true });
    fs.symlinkSync('does-not-exist.yaml', path.join(dir, 'test.yaml'));
    const result = await applyPoliciesToTree({
      repoRoot: dir,
      updatePath: dir,
      namespace: 'automation-ns',
      policies,
    });
    for (const name of fs.readdirSync(path.join(fixtures, 'expected'))) {
      expect([name, fs.readFileSync(path.join(dir, name), 'utf8')]).toEqual([
        name,
        fs.readFileSync(path.join(fixtures, 'expected', name), 'utf8'),
      ]);
    }
    expect([...result.fileChanges.keys()].sort()).toEqual([
      'Kustomization',
      'kustomization.yml',
      'marked.yaml',
    ]);
    const kustomization = result.fileChanges.get('kustomization.yml')!;
    expect(
      kustomization.every(
        c => c.object.name === '' && c.object.namespace === '',
      ),
    ).toBe(true);
    expect(kustomization.map(c => c.setter)).toEqual([
      'automation-ns:policy:name',
      'automation-ns:policy:tag',
      'automation-ns:policy-with-digest:digest',
      'automation-ns:policy-with-digest',
    ]);
    expect(result.warnings.map(w => `${w.file}:${w.line}`)).toEqual([
      'otherns.yaml:10',
    ]);
  });

  it('screens by extension and marker, walking hidden directories', async () => {
    const marked = 'image: a:1 # {"$imagepolicy": "automation-ns:policy"}\n';
    fs.mkdirSync(path.join(dir, '.github/deep'), { recursive: true });
    fs.writeFileSync(path.join(dir, '.github/deep/x.yml'), marked);
    fs.writeFileSync(path.join(dir, 'x.YAML'), marked);
    fs.writeFileSync(path.join(dir, 'x.json'), marked);
    fs.writeFileSync(path.join(dir, 'kustomization'), marked);
    fs.writeFileSync(
      path.join(dir, 'x.yaml'),
      marked.replace('"$imagepolicy"', '$imagepolicy'),
    );
    const result = await applyPoliciesToTree({
      repoRoot: dir,
      updatePath: dir,
      namespace: 'automation-ns',
      policies,
    });
    expect([...result.fileChanges.keys()]).toEqual(['.github/deep/x.yml']);
  });

  it('does not follow a symlink out of the repository', async () => {
    const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'outside-'));
    try {
      fs.writeFileSync(
        path.join(outside, 'secret.yaml'),
        'image: a:1 # {"$imagepolicy": "automation-ns:policy"}\n',
      );
      fs.symlinkSync(
        path.join(outside, 'secret.yaml'),
        path.join(dir, 'link.yaml'),
      );
      const result = await applyPoliciesToTree({
        repoRoot: dir,
        updatePath: dir,
        namespace: 'automation-ns',
        policies,
      });
      expect(result.fileChanges.size).toBe(0);
      expect(result.warnings[0].message).toContain('outside the repository');
      expect(
        fs.readFileSync(path.join(outside, 'secret.yaml'), 'utf8'),
      ).toContain('a:1');
    } finally {
      fs.rmSync(outside, { recursive: true, force: true });
    }
  });

  it('does not write through an update path that is a symlink to a directory outside the repository', async () => {
    const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'outside-'));
    try {
      fs.mkdirSync(path.join(outside, 'nested'));
      fs.writeFileSync(
        path.join(outside, 'nested/app.yaml'),
        'image: a:1 # {"$imagepolicy": "automation-ns:policy"}\n',
      );
      fs.symlinkSync(outside, path.join(dir, 'deploy'));
      const result = await applyPoliciesToTree({
        repoRoot: dir,
        updatePath: path.join(dir, 'deploy'),
        namespace: 'automation-ns',
        policies,
      });
      expect(result.fileChanges.size).toBe(0);
      expect(result.warnings).toEqual([
        {
          file: 'nested/app.yaml',
          line: 0,
          message: 'not updated: the symlink points outside the repository',
        },
      ]);
      expect(
        fs.readFileSync(path.join(outside, 'nested/app.yaml'), 'utf8'),
      ).toContain('a:1');
    } finally {
      fs.rmSync(outside, { recursive: true, force: true });
    }
  });

  it('reads files ahead but applies them in walk order', async () => {
    const marked = (n: number) =>
      `image: a:${n} # {"$imagepolicy": "automation-ns:policy"}\n`;
    for (let i = 0; i < 40; i++)
      fs.writeFileSync(
        path.join(dir, `f${String(i).padStart(2, '0')}.yaml`),
        marked(i),
      );
    const result = await applyPoliciesToTree({
      repoRoot: dir,
      updatePath: dir,
      namespace: 'automation-ns',
      policies,
    });
    expect([...result.fileChanges.keys()]).toEqual(
      Array.from(
        { length: 40 },
        (_, i) => `f${String(i).padStart(2, '0')}.yaml`,
      ),
    );
    expect(result.markers.map(m => m.file)).toEqual([
      ...result.fileChanges.keys(),
    ]);
  });

  it('does not follow a symlinked directory, even one named like a manifest', async () => {
    fs.mkdirSync(path.join(dir, 'real'));
    fs.writeFileSync(
      path.join(dir, 'real/x.yaml'),
      'image: a:1 # {"$imagepolicy": "automation-ns:policy"}\n',
    );
    fs.symlinkSync('real', path.join(dir, 'linked.yaml'));
    fs.symlinkSync('real', path.join(dir, 'linked'));
    const result = await applyPoliciesToTree({
      repoRoot: dir,
      updatePath: dir,
      namespace: 'automation-ns',
      policies,
    });
    expect([...result.fileChanges.keys()]).toEqual(['real/x.yaml']);
  });

  it('fails on a missing update path as Flux does', async () => {
    await expect(
      applyPoliciesToTree({
        repoRoot: dir,
        updatePath: path.join(dir, 'nope'),
        namespace: 'n',
        policies,
      }),
    ).rejects.toThrow(
      'walking path for files: lstat nope: no such file or directory',
    );
  });
});

describe('secureJoin', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'securejoin-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('keeps .. and symlinks inside the root', async () => {
    expect(await secureJoin(dir, '../../etc')).toBe(path.join(dir, 'etc'));
    expect(await secureJoin(dir, 'a/../../b')).toBe(path.join(dir, 'b'));
    fs.symlinkSync('/etc', path.join(dir, 'abs'));
    expect(await secureJoin(dir, 'abs/x')).toBe(path.join(dir, 'etc/x'));
    fs.symlinkSync('../../..', path.join(dir, 'up'));
    expect(await secureJoin(dir, 'up/y')).toBe(path.join(dir, 'y'));
    fs.mkdirSync(path.join(dir, 'real'));
    fs.symlinkSync('real', path.join(dir, 'rel'));
    expect(await secureJoin(dir, 'rel/z')).toBe(path.join(dir, 'real/z'));
  });
});
