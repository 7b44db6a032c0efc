import { ConfigReader } from '@backstage/config';
import { Entity } from '@backstage/catalog-model';
import { JsonObject } from '@backstage/types';
import {
  accessFromAdmits,
  readTenancySettings,
  referenceDenied,
  Tenancy,
} from './tenancy';

// Who gets which namespace (imageAutomation.tenancy): how grants name entities and owners, how an
// entity's owners are found, when the namespace named after an entity is withheld and why, and the
// exact refusal of a cross-namespace reference.
function entity(
  name: string,
  extra: {
    namespace?: string;
    owner?: string;
    relations?: Entity['relations'];
  } = {},
): Entity {
  return {
    apiVersion: 'backstage.io/v1alpha1',
    kind: 'Component',
    metadata: {
      name,
      ...(extra.namespace ? { namespace: extra.namespace } : {}),
    },
    spec: extra.owner ? { owner: extra.owner } : {},
    ...(extra.relations ? { relations: extra.relations } : {}),
  };
}
const settings = (tenancy: JsonObject) =>
  readTenancySettings(new ConfigReader({ tenancy }));

describe('tenancy grants', () => {
  it('normalises grant refs: blanks, case, and component / group as the default kinds', () => {
    const s = settings({
      namespaces: [
        { entity: '  Shop ', namespaces: ['a'] },
        { owner: ' Team-A ', namespaces: ['b'] },
      ],
    });
    expect(s.grants).toEqual([
      { entity: 'component:default/shop', namespaces: ['a'] },
      { owner: 'group:default/team-a', namespaces: ['b'] },
    ]);
    expect(s.defaultNamespace).toBe(true);
  });

  it('refuses a grant with both entity and owner', () => {
    expect(() =>
      settings({
        namespaces: [{ entity: 'shop', owner: 'team', namespaces: ['x'] }],
      }),
    ).toThrow(
      'imageAutomation.tenancy.namespaces: each grant needs exactly one of entity or owner',
    );
  });

  it('finds owners in ownedBy relations (any case) and only there among the relations', () => {
    const s = settings({
      namespaces: [
        { owner: 'group:default/team-a', namespaces: ['team-a-ns'] },
      ],
      defaultNamespace: false,
    });
    const owned = entity('shop', {
      relations: [{ type: 'ownedBy', targetRef: 'Group:default/Team-A' }],
    });
    const partOf = entity('web', {
      relations: [{ type: 'partOf', targetRef: 'group:default/team-a' }],
    });
    const tenancy = new Tenancy(s, [owned, partOf], new Set());
    expect(tenancy.grantFor(owned).namespaces).toEqual(['team-a-ns']);
    expect(tenancy.grantFor(partOf).namespaces).toEqual([]);
  });

  it("reads spec.owner as a group in the entity's own namespace unless it says otherwise", () => {
    const s = settings({
      namespaces: [
        { owner: 'group:other/team', namespaces: ['from-other'] },
        { owner: 'group:default/team', namespaces: ['from-default'] },
        { owner: 'user:default/jane', namespaces: ['from-jane'] },
      ],
      defaultNamespace: false,
    });
    const tenancy = new Tenancy(s, [], new Set());
    expect(
      tenancy.grantFor(entity('a', { namespace: 'other', owner: 'team' }))
        .namespaces,
    ).toEqual(['from-other']);
    expect(tenancy.grantFor(entity('b', { owner: 'team' })).namespaces).toEqual(
      ['from-default'],
    );
    expect(
      tenancy.grantFor(
        entity('c', { namespace: 'other', owner: 'user:default/jane' }),
      ).namespaces,
    ).toEqual(['from-jane']);
    // An owner that is not an entity ref grants nothing (and does not fail the sync).
    expect(
      tenancy.grantFor(entity('d', { owner: 'a:b:c/d/e' })).namespaces,
    ).toEqual([]);
  });
});

describe('the namespace named after an entity', () => {
  it('is granted, with no reason given, when nothing withholds it', () => {
    const tenancy = new Tenancy(settings({}), [entity('shop')], new Set());
    expect(tenancy.grantFor(entity('shop'))).toStrictEqual({
      namespaces: ['shop'],
    });
  });

  it("is withheld for 'default', as for flux-system and kube-*", () => {
    const tenancy = new Tenancy(settings({}), [], new Set());
    expect(tenancy.grantFor(entity('default'))).toStrictEqual({
      namespaces: [],
      defaultWithheld:
        "the namespace 'default' named after the entity is reserved",
    });
  });

  it('is withheld, saying so, when default namespaces are disabled', () => {
    const tenancy = new Tenancy(
      settings({ defaultNamespace: false }),
      [entity('shop')],
      new Set(),
    );
    expect(tenancy.grantFor(entity('shop'))).toStrictEqual({
      namespaces: [],
      defaultWithheld:
        'default namespaces are disabled (imageAutomation.tenancy.defaultNamespace: false)',
    });
  });

  it('gives no reason when an explicit grant gives the entity that namespace anyway', () => {
    const s = settings({
      namespaces: [
        { entity: 'component:default/payments', namespaces: ['payments'] },
      ],
    });
    const tenancy = new Tenancy(s, [entity('payments')], new Set());
    expect(tenancy.grantFor(entity('payments'))).toStrictEqual({
      namespaces: ['payments'],
    });
  });
});

describe('cross-namespace references', () => {
  const target = { kind: 'ImageRepository', namespace: 'b', name: 'repo' };

  it("lets '*' grants refer anywhere", () => {
    const referrer = {
      namespace: 'a',
      entityRef: 'component:default/a',
      source: { type: 'catalog' },
      grantedNamespaces: ['*'],
    };
    expect(
      referenceDenied(referrer, 'spec.imageRepositoryRef', target),
    ).toBeUndefined();
  });

  it('names the object and the accessFrom it failed when there is no entity', () => {
    const referrer = {
      namespace: 'a',
      source: { type: 'catalog' },
      grantedNamespaces: ['a'],
    };
    expect(
      referenceDenied(
        referrer,
        'spec.imageRepositoryRef',
        target,
        undefined,
        true,
      ),
    ).toBe(
      "spec.imageRepositoryRef: cross-namespace reference to ImageRepository 'b/repo' denied: namespace 'b' is not granted to this object and the ImageRepository's accessFrom does not admit namespace 'a' (imageAutomation.tenancy.namespaces)",
    );
  });

  it('reads a null namespace selector (YAML `- ~`) as an empty one, which admits every namespace as in Flux', () => {
    expect(accessFromAdmits({ namespaceSelectors: [null as any] }, 'a')).toBe(
      true,
    );
  });
});
