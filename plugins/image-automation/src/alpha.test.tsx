import { screen } from '@testing-library/react';
import { Entity } from '@backstage/catalog-model';
import { coreExtensionData } from '@backstage/frontend-plugin-api';
import {
  createExtensionTester,
  renderInTestApp,
} from '@backstage/frontend-test-utils';
import { EntityProvider } from '@backstage/plugin-catalog-react';
import { EntityContentBlueprint } from '@backstage/plugin-catalog-react/alpha';
import imageAutomationPlugin, {
  entityImageAutomationContent,
  imageAutomationApiRef,
} from './alpha';
import { FakeImageAutomationApi } from './testing/FakeImageAutomationApi';
import { objectView } from './testing/fixtures';

function component(annotations: Record<string, string>): Entity {
  return {
    apiVersion: 'backstage.io/v1alpha1',
    kind: 'Component',
    metadata: { name: 'podinfo', namespace: 'default', annotations },
    spec: {},
  };
}

describe('alpha plugin', () => {
  it('is the image-automation plugin with its API and the entity tab', () => {
    expect(imageAutomationPlugin.id).toBe('image-automation');
    expect(
      imageAutomationPlugin.getExtension('entity-content:image-automation'),
    ).toBeDefined();
    expect(
      imageAutomationPlugin.getExtension('api:image-automation'),
    ).toBeDefined();
  });

  it('adds an "Image updates" tab only for entities with the manifests annotation', () => {
    const tester = createExtensionTester(entityImageAutomationContent);
    expect(tester.get(EntityContentBlueprint.dataRefs.title)).toBe(
      'Image updates',
    );
    expect(tester.get(coreExtensionData.routePath)).toBe('image-updates');
    const filter = tester.get(EntityContentBlueprint.dataRefs.filterFunction);
    expect(
      filter?.(
        component({ 'image-automation.io/manifests': './automation.yaml' }),
      ),
    ).toBe(true);
    expect(filter?.(component({}))).toBe(false);
    expect(filter?.(component({ 'image-automation.io/manifests': ' ' }))).toBe(
      false,
    );
  });

  it('renders the tab content through the extension', async () => {
    const api = new FakeImageAutomationApi({
      user: 'user:default/guest',
      now: () => new Date(),
    });
    api.addObject(objectView('ImageRepository', 'podinfo'));
    const tester = createExtensionTester(entityImageAutomationContent);
    renderInTestApp(
      <EntityProvider
        entity={component({ 'image-automation.io/manifests': './a.yaml' })}
      >
        {tester.reactElement()}
      </EntityProvider>,
      { apis: [[imageAutomationApiRef, api]] },
    );
    expect(
      await screen.findByRole('button', {
        name: 'Reconcile ImageRepository default/podinfo',
      }),
    ).toBeEnabled();
  });
});
