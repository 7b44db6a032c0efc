import { screen } from '@testing-library/react';
import { renderInTestApp } from '@backstage/frontend-test-utils';
import { imageAutomationApiRef } from '../../api/ImageAutomationApi';
import { EntityDataHarness } from '../../testing/EntityDataHarness';
import { FakeImageAutomationApi } from '../../testing/FakeImageAutomationApi';
import { AutomationObjectsSection } from './AutomationObjectsSection';

const entityRef = { kind: 'Component', namespace: 'default', name: 'podinfo' };

/** The section of an entity without automation objects, with `config` as the app's config. */
function renderEmptySection(config?: { imageAutomation: { docsUrl: string } }) {
  const api = new FakeImageAutomationApi({
    user: 'user:default/guest',
    now: () => new Date(),
  });
  renderInTestApp(
    <EntityDataHarness entityRef={entityRef}>
      {data => (
        <AutomationObjectsSection
          entityRef={entityRef}
          objects={data.objects}
        />
      )}
    </EntityDataHarness>,
    { apis: [[imageAutomationApiRef, api]], config },
  );
}

describe('the empty state of the automation objects', () => {
  it("names the annotation and links Flux's image update guide by default", async () => {
    renderEmptySection();
    expect(
      await screen.findByText(/image-automation\.io\/manifests annotation/),
    ).toBeInTheDocument();
    const link = screen.getByRole('link', {
      name: 'How to write image automation manifests',
    });
    expect(link).toHaveAttribute(
      'href',
      'https://fluxcd.io/flux/guides/image-update/',
    );
    expect(link).toHaveAttribute('target', '_blank');
  });

  it('links the docs set in imageAutomation.docsUrl', async () => {
    renderEmptySection({
      imageAutomation: { docsUrl: 'https://docs.example.com/image-automation' },
    });
    const link = await screen.findByRole('link', {
      name: 'How to write image automation manifests',
    });
    expect(link).toHaveAttribute(
      'href',
      'https://docs.example.com/image-automation',
    );
  });
});
