export {
  AlertDispatcher,
  alertingEventStore,
  NOTIFICATION_FAILED_REASON,
  NOTIFICATION_SENT_REASON,
} from './AlertDispatcher';
export { AlertReconciler, ProviderReconciler } from './reconcilers';
export { readNotificationSettings } from './providerTarget';
export type { NotificationSettings } from './providerTarget';
