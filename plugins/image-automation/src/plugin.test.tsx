import { screen } from '@testing-library/react';
import { Route, Routes } from 'react-router-dom';
import { Entity } from '@backstage/catalog-model';
import {
  EntityProvider,
  entityRouteRef,
} from '@backstage/plugin-catalog-react';
import { renderInTestApp, TestApiProvider } from '@backstage/test-utils';
import {
  EntityImageAutomationContent,
  imageAutomationApiRef,
  ImageAutomationPage,
  imageAutomationPlugin,
} from './index';
import { FakeImageAutomationApi } from './testing/FakeImageAutomationApi';
import { condition, objectView } from './testing/fixtures';

const entity: Entity = {
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Component',
  metadata: {
    name: 'podinfo',
    namespace: 'default',
    annotations: { 'image-automation.io/manifests': './automation.yaml' },
  },
  spec: {},
};

describe('legacy plugin', () => {
  it('is the image-automation plugin', () => {
    expect(imageAutomationPlugin.getId()).toBe('image-automation');
  });

  it('renders the Image updates content in a legacy app', async () => {
    const api = new FakeImageAutomationApi({
      user: 'user:default/guest',
      now: () => new Date(),
    });
    api.addObject(
      objectView('ImagePolicy', 'podinfo', {
        status: {
          conditions: [
            condition('Ready', 'True', 'Succeeded', 'latest tag 6.5.1'),
          ],
        },
      }),
    );
    await renderInTestApp(
      <TestApiProvider apis={[[imageAutomationApiRef, api]]}>
        <EntityProvider entity={entity}>
          <Routes>
            <Route
              path="/image-updates"
              element={<EntityImageAutomationContent />}
            />
          </Routes>
        </EntityProvider>
      </TestApiProvider>,
      { routeEntries: ['/image-updates'] },
    );
    expect(await screen.findByText('Ready')).toBeInTheDocument();
    expect(
      screen.getByRole('button', {
        name: 'Suspend ImagePolicy default/podinfo',
      }),
    ).toBeEnabled();
  });

  it('renders the fleet page in a legacy app, with the filters of its URL', async () => {
    const api = new FakeImageAutomationApi({
      user: 'user:default/guest',
      now: () => new Date(),
    });
    api.setFleet({
      promotions: [],
      failing: [
        {
          ...objectView('ImagePolicy', 'podinfo'),
          health: 'Stalled',
          message: 'invalid semver range',
        },
      ],
    });
    await renderInTestApp(
      <TestApiProvider apis={[[imageAutomationApiRef, api]]}>
        <Routes>
          <Route path="/image-automation" element={<ImageAutomationPage />} />
        </Routes>
      </TestApiProvider>,
      {
        routeEntries: ['/image-automation?state=Stalled'],
        mountedRoutes: { '/catalog/:namespace/:kind/:name': entityRouteRef },
      },
    );
    expect(
      await screen.findByRole('heading', {
        level: 1,
        name: 'Image automation',
      }),
    ).toBeInTheDocument();
    const objects = await screen.findByRole('table', {
      name: 'Failing automations',
    });
    expect(objects).toHaveTextContent('ImagePolicy default/podinfo');
    expect(objects).toHaveTextContent('invalid semver range');
    expect(api.calls).toContainEqual({
      method: 'getFleet',
      args: [{ state: 'Stalled' }],
    });
  });
});
