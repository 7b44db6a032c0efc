import { spawn } from 'node:child_process';
import path from 'node:path';
import { loadVectors } from '../golib/__testUtils__/vectors';
import { main } from './index';
import { CliIO } from './types';

function capture(): CliIO & { out: string; err: string } {
  const io = {
    out: '',
    err: '',
    stdout: { write: (t: string) => void (io.out += t) },
    stderr: { write: (t: string) => void (io.err += t) },
    async readFile(): Promise<string> {
      throw new Error('no files');
    },
  };
  return io;
}

describe('image-automation image canonical', () => {
  const vectors = loadVectors().canonicalImageName as Array<
    Record<string, string>
  >;

  it.each(vectors.map(v => [v.input, v]))(
    "prints Flux's answer for %j as JSON",
    async (_, vector) => {
      const io = capture();
      const code = await main(
        ['image', 'canonical', '--json', '--', vector.input],
        io,
      );
      const expected =
        vector.error !== undefined
          ? { code: 1, out: { error: vector.error } }
          : {
              code: 0,
              out: {
                canonical: vector.canonical,
                registry: vector.registry,
                repository: vector.repository,
                scheme: vector.scheme,
              },
            };
      expect({ code, out: JSON.parse(io.out) }).toEqual(expected);
    },
  );

  it('prints text, honours --insecure and reports errors on stderr', async () => {
    const io = capture();
    expect(
      await main(['image', 'canonical', 'ghcr.io/org/app', '--insecure'], io),
    ).toBe(0);
    expect(io.out).toBe(
      'canonical:  ghcr.io/org/app\nregistry:   ghcr.io\nrepository: org/app\nscheme:     http\n',
    );
    const failing = capture();
    expect(await main(['image', 'canonical', 'alpine:3'], failing)).toBe(1);
    expect(failing.err).toBe(
      "image-automation: image 'alpine:3' should not include a tag; remove ':3'\n",
    );
    const usage = capture();
    expect(await main(['image', 'canonical'], usage)).toBe(2);
    expect(usage.err).toContain('usage: image-automation image canonical NAME');
  });

  it('runs from the real bin', async () => {
    const bin = path.resolve(__dirname, '../../bin/image-automation');
    const result = await new Promise<{ code: number | null; out: string }>(
      resolve => {
        const child = spawn(
          process.execPath,
          [bin, 'image', 'canonical', '--json', 'docker.io/alpine'],
          {
            stdio: ['ignore', 'pipe', 'inherit'],
          },
        );
        let out = '';
        child.stdout.on('data', d => (out += d));
        child.on('exit', code => resolve({ code, out }));
      },
    );
    expect(result.code).toBe(0);
    expect(JSON.parse(result.out)).toEqual({
      canonical: 'index.docker.io/library/alpine',
      registry: 'index.docker.io',
      repository: 'library/alpine',
      scheme: 'https',
    });
  }, 60_000);
});
