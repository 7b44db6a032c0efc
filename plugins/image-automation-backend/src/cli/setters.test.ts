import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { main } from './index';
import { CliIO } from './types';

function captureIO(): CliIO & { out: () => string; err: () => string } {
  let stdout = '';
  let stderr = '';
  return {
    stdout: { write: t => void (stdout += t) },
    stderr: { write: t => void (stderr += t) },
    readFile: f => fs.promises.readFile(f, 'utf8'),
    out: () => stdout,
    err: () => stderr,
  };
}

const fixtures = path.join(__dirname, '../git/__fixtures__/setters');
const REFS = `policy: {name: index.repo.fake/updated, tag: v1.0.1}
unchanged: {name: image, tag: v1.0.0}
policy-with-digest:
  name: image
  tag: v1.0.0
  digest: sha256:6745aaad46ea8b1a6c1b0cd6d2da2c4a5f5aae2d0e5a4e8c7b5b2a0c3d4e14be
`;

describe('image-automation setters apply', () => {
  let dir: string;
  let refs: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'setters-cli-'));
    fs.cpSync(path.join(fixtures, 'original'), path.join(dir, 'repo'), {
      recursive: true,
    });
    refs = path.join(dir, 'refs.yaml');
    fs.writeFileSync(refs, REFS);
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const args = () => [
    'setters',
    'apply',
    '--refs',
    refs,
    '--path',
    path.join(dir, 'repo'),
    '--namespace',
    'automation-ns',
  ];

  it('writes the golden result and prints every change and warning', async () => {
    const io = captureIO();
    expect(await main(args(), io)).toBe(0);
    for (const name of fs.readdirSync(path.join(fixtures, 'expected'))) {
      expect(fs.readFileSync(path.join(dir, 'repo', name), 'utf8')).toBe(
        fs.readFileSync(path.join(fixtures, 'expected', name), 'utf8'),
      );
    }
    expect(io.out()).toContain(
      'marked.yaml:11: automation-ns:policy: image:v1.0.0 -> index.repo.fake/updated:v1.0.1\n',
    );
    expect(io.out()).toContain(
      'kustomization.yml:6: automation-ns:policy:tag: v1 -> v1.0.1\n',
    );
    expect(io.out()).toContain('changed 9 value(s) in 3 file(s)\n');
    expect(io.err()).toContain(
      "warning: otherns.yaml:10: marker 'other-namespace:policy' names a policy in namespace 'other-namespace'",
    );
  });

  it('--dry-run --json reports without writing', async () => {
    const io = captureIO();
    expect(await main([...args(), '--dry-run', '--json'], io)).toBe(0);
    const report = JSON.parse(io.out());
    expect(report.changes).toHaveLength(9);
    expect(report.changes[0]).toEqual({
      file: 'Kustomization',
      line: 5,
      setter: 'automation-ns:policy:name',
      oldValue: 'replaced',
      newValue: 'index.repo.fake/updated',
    });
    expect(report.warnings).toEqual([
      expect.objectContaining({ file: 'otherns.yaml', line: 10 }),
    ]);
    expect(fs.readFileSync(path.join(dir, 'repo/marked.yaml'), 'utf8')).toBe(
      fs.readFileSync(path.join(fixtures, 'original/marked.yaml'), 'utf8'),
    );
  });

  it('rejects missing options and bad refs', async () => {
    const io = captureIO();
    expect(await main(['setters', 'apply', '--path', dir], io)).toBe(2);
    expect(io.err()).toContain('--refs, --path and --namespace are required');
    fs.writeFileSync(refs, 'policy: {name: x}\n');
    const io2 = captureIO();
    expect(await main(args(), io2)).toBe(1);
    expect(io2.err()).toContain(
      "policy 'policy' needs string 'name' and 'tag'",
    );
  });

  it('runs as the real bin', async () => {
    const bin = path.resolve(__dirname, '../../bin/image-automation');
    const result = await new Promise<{ code: number | null; out: string }>(
      (resolve, reject) => {
        const child = spawn(
          process.execPath,
          [bin, ...args().slice(0), '--dry-run'],
          { stdio: ['ignore', 'pipe', 'ignore'] },
        );
        let out = '';
        child.stdout.on('data', d => (out += d));
        child.on('error', reject);
        child.on('close', code => resolve({ code, out }));
      },
    );
    expect(result.code).toBe(0);
    expect(result.out).toContain('would change 9 value(s) in 3 file(s)');
  }, 60_000);
});
