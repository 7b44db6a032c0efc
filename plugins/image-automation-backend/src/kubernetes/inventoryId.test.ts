import {
  describeObject,
  inventoryEntry,
  inventoryId,
  parseInventoryEntry,
} from './inventoryId';

describe('inventory ids', () => {
  it('uses Flux ids and parses them back', () => {
    const deployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: 'apps' },
    };
    const namespace = {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'apps' },
    };
    const configMap = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'cfg', namespace: 'apps' },
    };
    expect(inventoryId(deployment)).toBe('apps_web_apps_Deployment');
    expect(inventoryEntry(namespace)).toEqual({
      id: '_apps__Namespace',
      v: 'v1',
    });
    expect(inventoryEntry(configMap)).toEqual({
      id: 'apps_cfg__ConfigMap',
      v: 'v1',
    });
    expect(
      parseInventoryEntry({ id: 'apps_web_apps_Deployment', v: 'v1' }),
    ).toEqual({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      namespace: 'apps',
      name: 'web',
    });
    expect(parseInventoryEntry({ id: '_apps__Namespace', v: 'v1' })).toEqual({
      apiVersion: 'v1',
      kind: 'Namespace',
      namespace: undefined,
      name: 'apps',
    });
    expect(() => parseInventoryEntry({ id: 'nonsense', v: 'v1' })).toThrow(
      "invalid inventory id 'nonsense'",
    );
    expect(describeObject(deployment)).toBe('Deployment/apps/web');
    expect(describeObject(namespace)).toBe('Namespace/apps');
  });
});
