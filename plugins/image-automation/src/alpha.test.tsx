import { screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { Entity } from '@backstage/catalog-model';
import { coreExtensionData } from '@backstage/frontend-plugin-api';
import {
  createExtensionTester,
  renderInTestApp,
  renderTestApp,
} from '@backstage/frontend-test-utils';
import { EntityProvider } from '@backstage/plugin-catalog-react';
import { EntityContentBlueprint } from '@backstage/plugin-catalog-react/alpha';
import imageAutomationPlugin, {
  entityImageAutomationContent,
  imageAutomationApiRef,
  imageAutomationFleetPage,
} from './alpha';
import { fleetRouteRef } from './routes';
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
    expect(
      imageAutomationPlugin.getExtension('page:image-automation'),
    ).toBeDefined();
  });

  it('adds the fleet page at /image-automation, with the title and icon of its navigation item', () => {
    const tester = createExtensionTester(imageAutomationFleetPage);
    expect(tester.get(coreExtensionData.routePath)).toBe('/image-automation');
    expect(tester.get(coreExtensionData.routeRef)).toBe(fleetRouteRef);
    expect(tester.get(coreExtensionData.title)).toBe('Image automation');
    expect(tester.get(coreExtensionData.icon)).toBeTruthy();
  });

  it('shows "Image automation" in the navigation of an app and opens the fleet page from it', async () => {
    const api = new FakeImageAutomationApi({
      user: 'user:default/guest',
      now: () => new Date(),
    });
    renderTestApp({
      features: [imageAutomationPlugin],
      apis: [[imageAutomationApiRef, api]],
    });
    const user = userEvent.setup();
    await user.click(
      await screen.findByRole('link', { name: /Image automation/ }),
    );
    expect(await screen.findByText(/^Nothing needs you/)).toBeInTheDocument();
    expect(
      screen.getByRole('heading', { level: 1, name: 'Image automation' }),
    ).toBeInTheDocument();
    expect(api.countCalls('getFleet')).toBeGreaterThan(0);
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
