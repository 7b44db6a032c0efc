import { ConfigReader } from '@backstage/config';
import { Entity } from '@backstage/catalog-model';
import {
  accessFromAdmits,
  readTenancySettings,
  referenceDenied,
  Tenancy,
} from './tenancy';

function component(
  name: string,
  owner = 'group:default/team',
  namespace = 'default',
): Entity {
  return {
    apiVersion: 'backstage.io/v1alpha1',
    kind: 'Component',
    metadata: { name, namespace },
    spec: { owner },
  };
}

describe('tenancy', () => {
  it('grants by entity and by owner, plus the namespace named after the entity', () => {
    const settings = readTenancySettings(
      new ConfigReader({
        tenancy: {
          namespaces: [
            { entity: 'component:shop', namespaces: ['shop-prod'] },
            { owner: 'team', namespaces: ['team-shared'] },
          ],
        },
      }),
    );
    const tenancy = new Tenancy(
      settings,
      [component('shop'), component('web', 'group:default/other')],
      new Set(),
    );
    expect(tenancy.grantFor(component('shop'))).toEqual({
      namespaces: ['shop', 'shop-prod', 'team-shared'],
    });
    expect(tenancy.grantFor(component('web', 'group:default/other'))).toEqual({
      namespaces: ['web'],
    });
  });

  it('withholds the default namespace when it is reserved, granted, used by the platform or shared', () => {
    const settings = readTenancySettings(
      new ConfigReader({
        tenancy: {
          namespaces: [
            { entity: 'component:default/owner', namespaces: ['payments'] },
          ],
        },
      }),
    );
    const entities = [
      component('kube-system'),
      component('flux-system'),
      component('payments'),
      component('platform'),
      component('twin'),
      component('twin', 'team', 'other'),
    ];
    const tenancy = new Tenancy(settings, entities, new Set(['platform']));
    expect(tenancy.grantFor(entities[0])).toEqual({
      namespaces: [],
      defaultWithheld:
        "the namespace 'kube-system' named after the entity is reserved",
    });
    expect(tenancy.grantFor(entities[1]).namespaces).toEqual([]);
    expect(tenancy.grantFor(entities[2]).defaultWithheld).toMatch(
      /'payments' .* is granted explicitly/,
    );
    expect(tenancy.grantFor(entities[3]).defaultWithheld).toMatch(
      /used by a platform location/,
    );
    expect(tenancy.grantFor(entities[4]).defaultWithheld).toMatch(
      /also named after another entity/,
    );
    expect(tenancy.grantFor(entities[5]).namespaces).toEqual([]);

    const off = new Tenancy(
      readTenancySettings(
        new ConfigReader({ tenancy: { defaultNamespace: false } }),
      ),
      [],
      new Set(),
    );
    expect(off.grantFor(component('shop')).namespaces).toEqual([]);
  });

  it('refuses a grant that names neither or both of entity and owner', () => {
    expect(() =>
      readTenancySettings(
        new ConfigReader({ tenancy: { namespaces: [{ namespaces: ['x'] }] } }),
      ),
    ).toThrow(/exactly one of entity or owner/);
  });

  it('evaluates accessFrom on the namespace name label; an empty matchLabels admits all', () => {
    expect(accessFromAdmits(undefined, 'a')).toBe(false);
    expect(
      accessFromAdmits({ namespaceSelectors: [{ matchLabels: {} }] }, 'a'),
    ).toBe(true);
    const onlyB = {
      namespaceSelectors: [
        { matchLabels: { 'kubernetes.io/metadata.name': 'b' } },
      ],
    };
    expect(accessFromAdmits(onlyB, 'b')).toBe(true);
    expect(accessFromAdmits(onlyB, 'a')).toBe(false);
    expect(
      accessFromAdmits(
        { namespaceSelectors: [{ matchLabels: { team: 'b' } }] },
        'b',
      ),
    ).toBe(false);
  });

  it('denies an entity reference into a namespace not granted to it, unless accessFrom admits it', () => {
    const referrer = {
      namespace: 'a',
      entityRef: 'component:default/a',
      source: { type: 'catalog' },
      grantedNamespaces: ['a', 'shared'],
    };
    const target = (namespace: string) => ({
      kind: 'GitRepository',
      namespace,
      name: 'repo',
    });
    expect(
      referenceDenied(referrer, 'spec.sourceRef', target('a')),
    ).toBeUndefined();
    expect(
      referenceDenied(referrer, 'spec.sourceRef', target('shared')),
    ).toBeUndefined();
    expect(referenceDenied(referrer, 'spec.sourceRef', target('b'))).toBe(
      "spec.sourceRef: cross-namespace reference to GitRepository 'b/repo' denied: namespace 'b' is not granted to component:default/a (imageAutomation.tenancy.namespaces)",
    );
    const admitsA = {
      namespaceSelectors: [
        { matchLabels: { 'kubernetes.io/metadata.name': 'a' } },
      ],
    };
    expect(
      referenceDenied(referrer, 'x', target('b'), admitsA, true),
    ).toBeUndefined();
    // accessFrom counts only for kinds that have it.
    expect(
      referenceDenied(referrer, 'x', target('b'), admitsA, false),
    ).toBeDefined();
    // Without grants (stored before grants existed), not even the own namespace.
    expect(
      referenceDenied(
        { ...referrer, grantedNamespaces: undefined },
        'x',
        target('a'),
      ),
    ).toBeDefined();
    // Platform objects are not limited here.
    expect(
      referenceDenied(
        { namespace: 'a', source: { type: 'config' } },
        'x',
        target('b'),
      ),
    ).toBeUndefined();
  });
});
