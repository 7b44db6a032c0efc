import { canonicalJson } from './canonicalJson';

describe('canonicalJson', () => {
  it('prints equal values alike whatever their key order, arrays kept in order', () => {
    const a = {
      kind: 'ConfigMap',
      metadata: { name: 'x', labels: { b: '1', a: '2' } },
      list: [{ y: 1, x: 2 }, 3],
    };
    const b = {
      list: [{ x: 2, y: 1 }, 3],
      metadata: { labels: { a: '2', b: '1' }, name: 'x' },
      kind: 'ConfigMap',
    };
    expect(canonicalJson(a)).toBe(canonicalJson(b));
    expect(canonicalJson(a)).toBe(
      '{"kind":"ConfigMap","list":[{"x":2,"y":1},3],"metadata":{"labels":{"a":"2","b":"1"},"name":"x"}}',
    );
    expect(canonicalJson({ list: [1, 2] })).not.toBe(
      canonicalJson({ list: [2, 1] }),
    );
  });
});
