import {
  formatObjectId,
  InvalidObjectIdError,
  objectId,
  parseObjectId,
  tryParseObjectId,
} from './objectId';

describe('object ids', () => {
  it('joins kind, namespace and name with slashes', () => {
    expect(objectId('ImagePolicy', 'apps', 'web')).toBe('ImagePolicy/apps/web');
    expect(
      formatObjectId({ kind: 'ResourceSet', namespace: 'flux', name: 'apps' }),
    ).toBe('ResourceSet/flux/apps');
  });

  it('parses an id back into the parts it was built from', () => {
    const refs = [
      { kind: 'ImageRepository', namespace: 'default', name: 'podinfo' },
      { kind: 'ResourceSetInputProvider', namespace: 'team-a', name: 'a.b-c' },
      { kind: 'Receiver', namespace: 'n', name: 'x' },
    ];
    for (const ref of refs) {
      expect(parseObjectId(formatObjectId(ref))).toEqual(ref);
      expect(
        tryParseObjectId(objectId(ref.kind, ref.namespace, ref.name)),
      ).toEqual(ref);
    }
  });

  it.each([
    ['', 'empty'],
    ['ImagePolicy', 'one part'],
    ['ImagePolicy/web', 'two parts'],
    ['ImagePolicy/apps/web/extra', 'four parts'],
    ['/apps/web', 'empty kind'],
    ['ImagePolicy//web', 'empty namespace'],
    ['ImagePolicy/apps/', 'empty name'],
    ['git:ImageUpdateAutomation/apps/web/extra', 'a target id'],
  ])('refuses %j (%s) with an error naming the id', (id, _what) => {
    expect(tryParseObjectId(id)).toBeUndefined();
    expect(() => parseObjectId(id)).toThrow(InvalidObjectIdError);
    expect(() => parseObjectId(id)).toThrow(
      `invalid object id '${id}': expected <kind>/<namespace>/<name>, three non-empty parts separated by '/'`,
    );
  });

  it('keeps the refused id on the error', () => {
    const error = (() => {
      try {
        parseObjectId('nope');
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(InvalidObjectIdError);
    expect((error as InvalidObjectIdError).id).toBe('nope');
    expect((error as InvalidObjectIdError).name).toBe('InvalidObjectIdError');
  });
});
