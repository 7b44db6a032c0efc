import { buildResourceSet } from './buildResourceSet';

/** Issue #13: a ResourceSet's templates from an untrusted manifest cannot exhaust the backend. */
describe('buildResourceSet with hostile templates', () => {
  const configMap = (data: Record<string, string>) => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'cm-<< inputs.id >>', namespace: 'apps' },
    data,
  });
  const build = (resources: unknown[], inputs: unknown[] = [{ id: 'a' }]) =>
    buildResourceSet({
      resourceSet: {
        metadata: { name: 'rs', namespace: 'apps' },
        spec: { inputs, resources },
      } as any,
      providers: [],
    });

  it('fails the build with the limit named, and one deadline covers every input set', () => {
    const huge = build([configMap({ v: '<< len (until 20000000) >>' })]);
    expect(huge).toEqual({
      ok: false,
      error: expect.stringMatching(
        /^failed to build resources\[0\]: failed to execute template: .*error calling until: until would make a list of 20000000 elements; the template limit is 10000$/,
      ),
    });
    const slow = buildResourceSet({
      resourceSet: {
        metadata: { name: 'rs', namespace: 'apps' },
        spec: {
          inputs: Array.from({ length: 50 }, (_, i) => ({ id: `i${i}` })),
          resources: [
            configMap({
              v: '<< range until 10000 >><< range until 10000 >><< end >><< end >>',
            }),
          ],
        },
      } as any,
      providers: [],
      limits: {
        maxListLength: 10_000,
        maxStringLength: 1 << 20,
        maxOutputLength: 4 << 20,
        timeoutMs: 200,
      },
    });
    expect(slow.ok).toBe(false);
    expect(!slow.ok && slow.error).toMatch(
      /template execution exceeded its time limit of 200ms/,
    );
    expect(build([configMap({ v: '<< len (until 3) >>' })])).toMatchObject({
      ok: true,
    });
  });
});
