import { createApp } from '@backstage/frontend-defaults';
import catalogPlugin from '@backstage/plugin-catalog/alpha';
import signalsPlugin from '@backstage/plugin-signals/alpha';
import notificationsPlugin from '@backstage/plugin-notifications/alpha';
import userSettingsPlugin from '@backstage/plugin-user-settings/alpha';
import imageAutomationPlugin from '@imageops/backstage-plugin-image-automation/alpha';

/**
 * The app on the new frontend system. The app plugin's default sign-in page offers the guest
 * provider, which the backend enables (`auth.providers.guest`), so users get a Backstage token.
 */
export default createApp({
  // signals: the backend pushes changes, so open pages update without polling.
  // notifications: the owners' page of approvals asked, promotions applied or failed, stalls (issue #15).
  features: [
    catalogPlugin,
    signalsPlugin,
    notificationsPlugin,
    userSettingsPlugin,
    imageAutomationPlugin,
  ],
});
