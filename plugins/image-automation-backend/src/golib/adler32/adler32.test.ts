import { loadVectors } from '../__testUtils__/vectors';
import { adler32 } from './adler32';

describe('adler32', () => {
  it('gives the ImageRepository revision Flux computes for a stored tag list', () => {
    expect(adler32(JSON.stringify(['latest', 'v0.0.1', 'v0.0.2']))).toBe(
      1943865137,
    );
  });

  it.each(loadVectors().adler32Id.map((v: any) => [v.input, v.expected]))(
    'matches the adler32Id vector %j',
    (input: string, expected: string) => {
      expect(String(adler32(input))).toBe(expected);
    },
  );

  it.each(
    loadVectors()
      .revisions.filter((v: any) => v.expected && /^\d+$/.test(v.expected))
      .map((v: any) => [v.tags, v.expected]),
  )('gives revision %j', (tags: string[], expected: string) => {
    expect(String(adler32(JSON.stringify(tags)))).toBe(expected);
  });

  it('stays exact over long inputs', () => {
    const long = 'x'.repeat(100_000);
    let a = 1;
    let b = 0;
    for (let i = 0; i < long.length; i++) {
      a = (a + 120) % 65521;
      b = (b + a) % 65521;
    }
    expect(adler32(long)).toBe(((b << 16) | a) >>> 0);
  });
});
