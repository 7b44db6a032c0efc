import { createApp } from '@backstage/frontend-defaults';
import catalogPlugin from '@backstage/plugin-catalog/alpha';
import imageAutomationPlugin from '@imageops/backstage-plugin-image-automation/alpha';

// An adopter's app on the new frontend system: the catalog and the image-automation plugin.
export default createApp({
  features: [catalogPlugin, imageAutomationPlugin],
});
