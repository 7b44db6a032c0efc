import { parseChallenge } from './challenge';

describe('parseChallenge', () => {
  it('reads quoted and bare parameters', () => {
    expect(
      parseChallenge(
        'Bearer realm="https://auth.example/token",service="reg, 1",scope="repository:a/b:pull",error=insufficient_scope',
      ),
    ).toEqual({
      scheme: 'bearer',
      params: {
        realm: 'https://auth.example/token',
        service: 'reg, 1',
        scope: 'repository:a/b:pull',
        error: 'insufficient_scope',
      },
    });
    expect(parseChallenge('Basic realm="Registry Realm"')).toEqual({
      scheme: 'basic',
      params: { realm: 'Registry Realm' },
    });
    expect(parseChallenge(undefined)).toBeUndefined();
  });
});
