import { screen } from '@testing-library/react';
import { Route, Routes } from 'react-router-dom';
import { Entity } from '@backstage/catalog-model';
import { EntityProvider } from '@backstage/plugin-catalog-react';
import { renderInTestApp, TestApiProvider } from '@backstage/test-utils';
import {
  EntityImageAutomationContent,
  imageAutomationApiRef,
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
});
