import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { main } from './index';
import { CliIO } from './types';

function capture(
  files: Record<string, string>,
): CliIO & { out: string; err: string } {
  const io = {
    out: '',
    err: '',
    stdout: { write: (t: string) => void (io.out += t) },
    stderr: { write: (t: string) => void (io.err += t) },
    async readFile(p: string) {
      if (!(p in files)) throw new Error('ENOENT: no such file');
      return files[p];
    },
  };
  return io;
}

const semverPolicy = `
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata:
  name: podinfo
spec:
  imageRepositoryRef:
    name: podinfo
  policy:
    semver:
      range: ">=1.0.0"
`;

describe('image-automation policy select', () => {
  it('sorts tags as the repository stores them, so ties go to the byte-greatest tag', async () => {
    const io = capture({
      'p.yaml': semverPolicy,
      tags: '1.0.0\nv1.0.0\n0.9.0\nlatest\n',
    });
    expect(
      await main(
        ['policy', 'select', '--policy', 'p.yaml', '--tags', 'tags'],
        io,
      ),
    ).toBe(0);
    expect(io.out).toBe('v1.0.0\n');
  });

  it('takes the given order with --no-sort', async () => {
    const io = capture({ 'p.yaml': semverPolicy, tags: '1.0.0\nv1.0.0\n' });
    const code = await main(
      [
        'policy',
        'select',
        '--policy',
        'p.yaml',
        '--tags',
        'tags',
        '--no-sort',
        '--json',
      ],
      io,
    );
    expect(code).toBe(0);
    expect(JSON.parse(io.out)).toEqual({ tag: '1.0.0' });
  });

  it('prints the exact Flux error and reason with --json, and fails', async () => {
    const policy = semverPolicy.replace('>=1.0.0', '*-*');
    const io = capture({ 'p.yaml': policy, tags: '1.0.0\n' });
    const code = await main(
      ['policy', 'select', '--policy', 'p.yaml', '--tags', 'tags', '--json'],
      io,
    );
    expect(code).toBe(1);
    expect(JSON.parse(io.out)).toEqual({
      error: 'invalid policy: improper constraint: "*-*"',
      reason: 'InvalidPolicy',
    });
  });

  it('reports a policer failure as Failure', async () => {
    const io = capture({ 'p.yaml': semverPolicy, tags: 'latest\nmain\n' });
    const code = await main(
      ['policy', 'select', '--policy', 'p.yaml', '--tags', 'tags', '--json'],
      io,
    );
    expect(code).toBe(1);
    expect(JSON.parse(io.out)).toEqual({
      error: 'unable to determine latest version from provided list',
      reason: 'Failure',
    });
  });

  it('uses filterTags and explains every tag', async () => {
    const policy = `${semverPolicy}  filterTags:\n    pattern: '^main-(?P<v>.*)$'\n    extract: '$v'\n`;
    const io = capture({
      'p.yaml': policy,
      tags: 'main-1.2.0\nmain-1.10.0\nmain-2.0.0-rc.1\n1.11.0\nmain-latest\n',
    });
    const code = await main(
      [
        'policy',
        'select',
        '--policy',
        'p.yaml',
        '--tags',
        'tags',
        '--explain',
        '--json',
      ],
      io,
    );
    expect(code).toBe(0);
    const body = JSON.parse(io.out);
    expect(body.tag).toBe('main-1.10.0');
    expect(
      Object.fromEntries(
        body.verdicts.map((v: { tag: string; verdict: string }) => [
          v.tag,
          v.verdict,
        ]),
      ),
    ).toEqual({
      'main-latest': 'not-semver',
      'main-2.0.0-rc.1': 'prerelease-excluded',
      'main-1.2.0': 'eligible',
      'main-1.10.0': 'selected',
      '1.11.0': 'filtered-out',
    });
    expect(body.verdicts[0].sentence).toMatch(/\w/);
  });

  it('explains in text too', async () => {
    const io = capture({
      'p.yaml': semverPolicy.replace(
        'semver:\n      range: ">=1.0.0"',
        'numerical:\n      order: asc',
      ),
      tags: '3\n10\nx\n',
    });
    const code = await main(
      ['policy', 'select', '--policy', 'p.yaml', '--tags', 'tags', '--explain'],
      io,
    );
    expect(code).toBe(1);
    expect(io.err).toBe(
      "error: failed to parse invalid numeric value 'x' (Failure)\n",
    );
    expect(io.out).toMatch(/^x\s+not-numeric\s/m);
  });

  it('reads YAML numbers where strings are expected as the text written', async () => {
    const policy = semverPolicy
      .replace('">=1.0.0"', '1')
      .replace(
        '      range: 1\n',
        '      range: 1\n  filterTags:\n    pattern: 1\n',
      );
    const io = capture({ 'p.yaml': policy, tags: '1.2.0\n2.0.0\n1.3.0\n' });
    expect(
      await main(
        ['policy', 'select', '--policy', 'p.yaml', '--tags', 'tags'],
        io,
      ),
    ).toBe(0);
    expect(io.out).toBe('1.3.0\n');
  });

  it('rejects missing options with a usage message', async () => {
    const io = capture({});
    expect(await main(['policy', 'select', '--policy', 'p.yaml'], io)).toBe(2);
    expect(io.err).toContain('usage: image-automation policy select');
    const io2 = capture({});
    expect(
      await main(
        ['policy', 'select', '--policy', 'p.yaml', '--tags', 't'],
        io2,
      ),
    ).toBe(2);
    expect(io2.err).toContain('cannot read policy p.yaml');
  });
});

describe('image-automation rsip tags', () => {
  const tags = 'v1.0.0\nv1.1.0\nv2.0.0\nv1.2.0\nrubbish\n';

  it('applies a bare spec.filter', async () => {
    const io = capture({
      f: 'includeTag: "^v1\\\\."\nexcludeTag: "^v1\\\\.0\\\\.0$"\n',
      tags,
    });
    expect(
      await main(['rsip', 'tags', '--filter', 'f', '--tags', 'tags'], io),
    ).toBe(0);
    expect(io.out).toBe('v1.2.0\nv1.1.0\n');
  });

  it('applies the filter of a ResourceSetInputProvider manifest', async () => {
    const manifest = `apiVersion: fluxcd.controlplane.io/v1
kind: ResourceSetInputProvider
metadata:
  name: app
spec:
  type: OCIArtifactTag
  url: oci://ghcr.io/org/app
  filter:
    semver: ">= 1.0.0 < 2.0.0"
    limit: 2
`;
    const io = capture({ f: manifest, tags });
    expect(
      await main(
        ['rsip', 'tags', '--filter', 'f', '--tags', 'tags', '--json'],
        io,
      ),
    ).toBe(0);
    expect(JSON.parse(io.out)).toEqual({ tags: ['v1.2.0', 'v1.1.0'] });
  });

  it('reports an invalid filter', async () => {
    const io = capture({ f: 'semver: "*-*"\n', tags });
    expect(
      await main(
        ['rsip', 'tags', '--filter', 'f', '--tags', 'tags', '--json'],
        io,
      ),
    ).toBe(1);
    expect(JSON.parse(io.out)).toEqual({
      error: 'invalid semver expression: improper constraint: "*-*"',
    });
  });
});

describe('the image-automation bin', () => {
  it('selects a tag from standard input', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'image-automation-cli-'));
    try {
      const policyFile = path.join(dir, 'policy.yaml');
      fs.writeFileSync(policyFile, semverPolicy);
      const bin = path.resolve(__dirname, '../../bin/image-automation');
      const child = spawn(
        process.execPath,
        [
          bin,
          'policy',
          'select',
          '--policy',
          policyFile,
          '--tags',
          '-',
          '--json',
        ],
        { stdio: ['pipe', 'pipe', 'pipe'] },
      );
      let out = '';
      let err = '';
      child.stdout.on('data', d => (out += d));
      child.stderr.on('data', d => (err += d));
      child.stdin.end('0.1.0\n1.2.3\n1.10.0\nlatest\n');
      const code = await new Promise<number | null>(resolve =>
        child.on('close', resolve),
      );
      expect(err).toBe('');
      expect(code).toBe(0);
      expect(JSON.parse(out)).toEqual({ tag: '1.10.0' });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
