import { randomUUID } from 'node:crypto';
import {
  coreServices,
  createBackendPlugin,
} from '@backstage/backend-plugin-api';
import { metricsServiceRef } from '@backstage/backend-plugin-api/alpha';
import { parseEntityRef, stringifyEntityRef } from '@backstage/catalog-model';
import { catalogServiceRef } from '@backstage/plugin-catalog-node';
import { signalsServiceRef } from '@backstage/plugin-signals-node';
import { notificationService } from '@backstage/plugin-notifications-node';
import { JsonObject } from '@backstage/types';
import { imageAutomationPermissions } from '@imageops/backstage-plugin-image-automation-common';
import { NamedCredentials } from './credentials/NamedCredentials';
import { setScheduleLimits } from './engine/preamble';
import { Engine } from './engine/Engine';
import { ImagePolicyReconciler } from './engine/ImagePolicyReconciler';
import { ImageRepositoryReconciler } from './engine/ImageRepositoryReconciler';
import { ResourceSetInputProviderReconciler } from './engine/ResourceSetInputProviderReconciler';
import { GitRepositoryReconciler } from './engine/GitRepositoryReconciler';
import { ImageUpdateAutomationReconciler } from './engine/ImageUpdateAutomationReconciler';
import { ResourceSetReconciler } from './engine/ResourceSetReconciler';
import {
  CatalogClusterLocator,
  ConfigClusterLocator,
  InventoryApplier,
  KubeClient,
  KubernetesClusters,
  readKubernetesSettings,
  readPodImages,
} from './kubernetes';
import { PromotionPlanner } from './promotions/PromotionPlanner';
import {
  OwnerNotifications,
  ownerNotifyingPromotionStore,
} from './notifications/OwnerNotifications';
import { AuthorizedPromotionService } from './service/AuthorizedPromotionService';
import {
  notifyingPromotionStore,
  notifyingScanStore,
  SignalsChangeNotifier,
} from './service/ChangeNotifier';
import { DefaultPromotionService } from './service/DefaultPromotionService';
import { FleetService } from './service/FleetService';
import { PromotionPreviewService } from './service/PromotionPreviewService';
import { TimelineService } from './service/TimelineService';
import { VersionsService } from './service/VersionsService';
import { DatabasePromotionStore } from './store/DatabasePromotionStore';
import { DatabaseInventoryStore } from './store/DatabaseInventoryStore';
import { SigningKeys } from './git/SigningKeys';
import { readGitAccessSettings } from './git/gitAccess';
import { readPullRequestSettings } from './pullRequests/pullRequestMode';
import { readWarmClonesSettings, WarmClones } from './git/warmClones';
import { integrationGitAuthFromConfig } from './git/integrationGitAuth';
import { ManifestReader } from './objects/ManifestReader';
import { ManifestSync } from './objects/ManifestSync';
import { readTenancySettings } from './objects/tenancy';
import { RegistryClient } from './registry';
import { CloudRegistryAuth } from './cloud/CloudRegistryAuth';
import { AuthorizedObjectService } from './service/AuthorizedObjectService';
import { DefaultObjectService } from './service/DefaultObjectService';
import { createRouter } from './service/router';
import { DatabaseObjectStore } from './store/DatabaseObjectStore';
import { DatabaseEventStore } from './store/DatabaseEventStore';
import { DatabaseScanStore } from './store/DatabaseScanStore';
import { DatabaseListingStore } from './store/DatabaseListingStore';
import { SharedListings } from './registry/sharedListings';
import {
  ImageAutomationMetrics,
  meteredPromotionStore,
  meteredScanStore,
} from './metrics/metrics';
import { HealthCheck } from './service/HealthCheck';
import {
  AlertDispatcher,
  alertingEventStore,
  AlertReconciler,
  ProviderReconciler,
  readNotificationSettings,
} from './alerts';
import { ReceiverHooks, readReceiverSettings } from './receivers/ReceiverHooks';
import { ReceiverReconciler } from './receivers/ReceiverReconciler';
import { createHookRouter } from './receivers/hookRouter';

const RECONCILE_TASK = 'image-automation-reconcile';
const MAX_PASSES_PER_RUN = 50;

/**
 * The image-automation backend plugin: scans registries, selects image versions with Flux
 * image policies and serves the results to the entity page.
 * @public
 */
export const imageAutomationPlugin = createBackendPlugin({
  pluginId: 'image-automation',
  register(env) {
    env.registerInit({
      deps: {
        logger: coreServices.logger,
        config: coreServices.rootConfig,
        database: coreServices.database,
        scheduler: coreServices.scheduler,
        httpRouter: coreServices.httpRouter,
        httpAuth: coreServices.httpAuth,
        auth: coreServices.auth,
        permissions: coreServices.permissions,
        permissionsRegistry: coreServices.permissionsRegistry,
        urlReader: coreServices.urlReader,
        catalog: catalogServiceRef,
        auditor: coreServices.auditor,
        signals: signalsServiceRef,
        // Owners' notifications (issue #15); without the notifications backend, sends fail and are logged once.
        notifications: notificationService,
        lifecycle: coreServices.lifecycle,
        metrics: metricsServiceRef,
      },
      async init(deps) {
        const { logger, config, database, scheduler } = deps;
        const settings = config.getOptionalConfig('imageAutomation');
        const knex = await database.getClient();
        const skipMigrations = database.migrations?.skip;
        const objects = await DatabaseObjectStore.create({
          knex,
          skipMigrations,
        });
        const scans = await DatabaseScanStore.create({
          knex,
          skipMigrations: true,
        });
        const storedEvents = await DatabaseEventStore.create({
          knex,
          skipMigrations: true,
        });
        // Open pages reload on these signals (on every replica, through the events backend's bus).
        const notifier = new SignalsChangeNotifier({
          signals: deps.signals,
          logger,
        });
        const credentials = NamedCredentials.fromConfig(config);
        // Flux Providers and Alerts (issue #15): every event recorded is offered to the Alerts of
        // the object's entity and sent in the background (never blocking the engine).
        const notificationSettings = readNotificationSettings(config);
        const alertDispatcher = new AlertDispatcher({
          objects,
          events: storedEvents,
          credentials,
          settings: notificationSettings,
          logger,
        });
        deps.lifecycle.addShutdownHook(() => alertDispatcher.close());
        const events = alertingEventStore(storedEvents, alertDispatcher);
        const registrySettings = settings?.getOptionalConfig('registry');
        if (!settings?.getOptionalStringArray('allowedRegistries')?.length) {
          logger.warn(
            "imageAutomation.allowedRegistries is not set: no registry may be contacted (list hosts, or '*' for any)",
          );
        }
        const budget = registrySettings?.getOptionalConfig('requestBudget');
        // OpenTelemetry instruments (docs/operations.md); no-ops unless the backend installs a meter provider.
        const metrics = new ImageAutomationMetrics(deps.metrics, {
          allowedRegistries:
            settings?.getOptionalStringArray('allowedRegistries') ?? [],
        });
        const listingStore = await DatabaseListingStore.create({
          knex,
          skipMigrations: true,
        });
        // The backend's cloud identity for provider aws/gcp/azure, fenced by imageAutomation.cloudIdentity.
        const cloud = CloudRegistryAuth.fromConfig(config, {
          allowedRegistries:
            settings?.getOptionalStringArray('allowedRegistries') ?? [],
          logger,
        });
        const registry = new RegistryClient({
          // Fails closed: without imageAutomation.allowedRegistries no registry may be contacted.
          allowedHosts:
            settings?.getOptionalStringArray('allowedRegistries') ?? [],
          pageSize: registrySettings?.getOptionalNumber('pageSize'),
          maxTags: registrySettings?.getOptionalNumber('maxTags'),
          concurrencyPerRegistry: registrySettings?.getOptionalNumber(
            'concurrencyPerRegistry',
          ),
          requestBudget: budget && {
            requests: budget.getNumber('requests'),
            intervalMs: budget.getNumber('intervalSeconds') * 1000,
          },
          // Counted in the database: the budget holds for all replicas together.
          budgetStore: listingStore,
          retries: {
            attempts: registrySettings?.getOptionalNumber('attempts'),
          },
          ca: registrySettings?.getOptionalString('ca'),
          logger: {
            debug: (message, meta) => logger.debug(message, meta as JsonObject),
            warn: (message, meta) => logger.warn(message, meta as JsonObject),
          },
          onRequest: request => metrics.registryRequest(request),
        });

        // Fleet-wide scan sharing (issue #16): one listing per repository and credential scope per interval.
        const listings = new SharedListings({
          store: listingStore,
          registry,
          onListing: shared => metrics.listing(shared),
        });
        const kubernetesSettings = readKubernetesSettings(config);
        const clusters = new KubernetesClusters(
          new ConfigClusterLocator(config, kubernetesSettings),
          new CatalogClusterLocator(deps.catalog, kubernetesSettings),
        );
        const inventories = await DatabaseInventoryStore.create({
          knex,
          skipMigrations: true,
        });
        const promotions = meteredPromotionStore(
          await DatabasePromotionStore.create({ knex, skipMigrations: true }),
          metrics,
        );
        const instanceId = `image-automation-${randomUUID()}`;
        const entityAnnotations = async (entityRef: string) =>
          (
            await deps.catalog.getEntityByRef(entityRef, {
              credentials: await deps.auth.getOwnServiceCredentials(),
            })
          )?.metadata.annotations;
        // An entity's owner as a full ref, for the clusters' `allowedOwners`.
        const entityOwner = async (entityRef: string) => {
          const entity = await deps.catalog.getEntityByRef(entityRef, {
            credentials: await deps.auth.getOwnServiceCredentials(),
          });
          const owner = entity?.spec?.owner;
          return typeof owner === 'string' && owner
            ? stringifyEntityRef(
                parseEntityRef(owner, {
                  defaultKind: 'group',
                  defaultNamespace: entity!.metadata.namespace ?? 'default',
                }),
              )
            : undefined;
        };
        const owners = new OwnerNotifications({
          notifications: deps.notifications,
          logger,
          entityAnnotations,
        });
        const planner = new PromotionPlanner({
          promotions: ownerNotifyingPromotionStore(
            notifyingPromotionStore(promotions, notifier),
            owners,
          ),
          objects,
          entityAnnotations,
        });
        const clusterOf = async (name: string) =>
          clusters.get(name, await deps.auth.getOwnServiceCredentials());
        const resourceSets = new ResourceSetReconciler({
          // Show "Applying step i/n" while a long apply runs.
          progress: async (id, status) => {
            if (await objects.reportProgress(id, instanceId, status)) {
              notifier.changed('objects', (await objects.get(id))?.entityRef);
            }
          },
          objects,
          inventories,
          applier: new InventoryApplier(inventories, kubernetesSettings),
          cluster: clusterOf,
          entityAnnotations,
          entityOwner,
          promotions: planner,
        });

        const gitIntegrations = integrationGitAuthFromConfig(config);
        const gitAccess = readGitAccessSettings(config);
        // Warm clones (issue #16): fetched and reset per run instead of cloned; removed on shutdown.
        const cloneCache = readWarmClonesSettings(config);
        const clones = cloneCache ? new WarmClones(cloneCache) : undefined;
        if (clones) deps.lifecycle.addShutdownHook(() => clones.close());
        const automations = new ImageUpdateAutomationReconciler({
          objects,
          credentials,
          signingKeys: SigningKeys.fromConfig(config),
          integrations: gitIntegrations,
          gitAccess,
          logger,
          promotions: { planner, scans },
          clones,
          pullRequests: readPullRequestSettings(config),
        });
        // Intervals and timeouts below these are refused with a Stalled condition (issue #13).
        setScheduleLimits({
          minIntervalMs:
            (settings?.getOptionalNumber('engine.minIntervalSeconds') ?? 60) *
            1000,
          minTimeoutMs:
            (settings?.getOptionalNumber('engine.minTimeoutSeconds') ?? 1) *
            1000,
        });
        // Receivers (issue #15): webhook calls make the objects they list due now.
        const receiverSettings = readReceiverSettings(config);
        const hooks = new ReceiverHooks({
          objects,
          events,
          credentials,
          logger,
          settings: receiverSettings,
          afterRequest: () =>
            scheduler.triggerTask(RECONCILE_TASK).catch(() => {}),
        });
        deps.lifecycle.addShutdownHook(() => hooks.close());
        const engine = new Engine({
          instanceId,
          objects,
          events,
          logger,
          batchSize: settings?.getOptionalNumber('engine.batchSize') ?? 20,
          leaseMs:
            (settings?.getOptionalNumber('engine.leaseSeconds') ?? 300) * 1000,
          notifier,
          owners,
          metrics,
          reconcilers: [
            new ImageRepositoryReconciler({
              objects,
              scans: notifyingScanStore(
                meteredScanStore(scans, metrics),
                objects,
                notifier,
              ),
              registry,
              credentials,
              logger,
              listings,
              cloud,
            }),
            new ImagePolicyReconciler({
              objects,
              scans,
              registry,
              credentials,
              cloud,
            }),
            new ResourceSetInputProviderReconciler({
              objects,
              registry,
              credentials,
              logger,
              listings,
              config,
              cloud,
            }),
            new GitRepositoryReconciler({
              objects,
              credentials,
              integrations: gitIntegrations,
              gitAccess,
            }),
            automations,
            resourceSets,
            new ProviderReconciler({
              objects,
              events,
              credentials,
              settings: notificationSettings,
            }),
            new AlertReconciler({ objects }),
            new ReceiverReconciler({
              credentials,
              changed: () => hooks.refreshSoon(),
            }),
          ],
        });
        const sync = new ManifestSync({
          store: objects,
          reader: new ManifestReader(
            deps.urlReader,
            settings?.getOptionalStringArray('fileRoots') ?? [],
          ),
          catalog: deps.catalog,
          auth: deps.auth,
          logger,
          locations: (settings?.getOptionalConfigArray('locations') ?? []).map(
            c => ({
              target: c.getString('target'),
              entityRef: c.getOptionalString('entityRef'),
            }),
          ),
          tenancy: readTenancySettings(settings),
          manifestUrlPrefixes:
            settings?.getOptionalStringArray('manifestUrlPrefixes') ?? [],
        });

        const stopping = new AbortController();
        deps.lifecycle.addShutdownHook(() => stopping.abort());
        await scheduler.scheduleTask({
          id: 'image-automation-sync-manifests',
          frequency: {
            seconds:
              settings?.getOptionalNumber('engine.refreshIntervalSeconds') ??
              120,
          },
          timeout: { minutes: 10 },
          // One replica at a time (the scheduler's lock in the database): two syncs would race on
          // the same rows, and two uninstalls on the same objects.
          scope: 'global',
          fn: async () => {
            await sync.syncAll();
            // ResourceSets removed from their source: prune what they applied (the store has no
            // finalizers), once they have been gone for the grace period.
            const graceMs =
              (settings?.getOptionalNumber('engine.uninstallGraceSeconds') ??
                600) * 1000;
            for (const result of await resourceSets.uninstallDeleted({
              graceMs,
            })) {
              if (result.waitingUntil) {
                logger.info(
                  `${
                    result.owner
                  } is gone from its source: what it applied is uninstalled at ${result.waitingUntil.toISOString()} unless it comes back`,
                );
              } else if (result.error) {
                logger.warn(
                  `Uninstalling ${result.owner} failed, retrying after the next sync: ${result.error}`,
                );
              } else {
                logger.info(
                  `Uninstalled ${result.owner}: ${
                    result.changes.join(', ') || 'nothing to delete'
                  }`,
                );
              }
            }
            await scheduler.triggerTask(RECONCILE_TASK).catch(() => {});
          },
        });
        await scheduler.scheduleTask({
          id: RECONCILE_TASK,
          frequency: {
            seconds:
              settings?.getOptionalNumber('engine.pollIntervalSeconds') ?? 5,
          },
          timeout: { minutes: 15 },
          // Every instance runs passes; leases keep them off each other's objects.
          scope: 'local',
          fn: async abortSignal => {
            // The scheduler's timeout or shutdown stops the run: nothing more is claimed, and the
            // reconciles still running are stopped and their leases released.
            const signal = abortSignal
              ? AbortSignal.any([abortSignal, stopping.signal])
              : stopping.signal;
            // Keep going while objects are due (e.g. dependents made due by this pass), within
            // bounds: the next scheduled run picks up whatever is left.
            for (
              let pass = 0;
              pass < MAX_PASSES_PER_RUN &&
              !signal.aborted &&
              (await engine.runPass(undefined, signal)) > 0;
              pass++
            );
          },
        });
        await scheduler.scheduleTask({
          id: 'image-automation-retention',
          frequency: { hours: 1 },
          timeout: { minutes: 10 },
          scope: 'global',
          fn: async () => {
            const days =
              settings?.getOptionalNumber('retention.scanDays') ?? 30;
            const deleted = await scans.prune({
              olderThan: new Date(Date.now() - days * 86_400_000),
              keepPerObject:
                settings?.getOptionalNumber('retention.scansPerRepository') ??
                500,
            });
            // Events and the history of gone tags are bounded by age and by count (issue #13).
            const eventDays =
              settings?.getOptionalNumber('retention.eventDays') ?? days;
            const deletedEvents = await events.prune({
              olderThan: new Date(Date.now() - eventDays * 86_400_000),
              keepPerObject:
                settings?.getOptionalNumber('retention.eventsPerObject') ??
                1000,
            });
            const goneTagDays =
              settings?.getOptionalNumber('retention.goneTagDays') ?? 30;
            const deletedTags = await scans.pruneGoneTags({
              goneBefore: new Date(Date.now() - goneTagDays * 86_400_000),
              keepPerObject:
                settings?.getOptionalNumber(
                  'retention.goneTagsPerRepository',
                ) ?? 1000,
            });
            if (deleted + deletedEvents + deletedTags > 0) {
              logger.info(
                `Deleted ${deleted} scans, ${deletedEvents} events and ${deletedTags} gone tags past retention`,
              );
            }
          },
        });

        metrics.observe(
          {
            countDue: now => objects.countDue(now),
            countPromotionsByState: () => promotions.countByState(),
          },
          error =>
            logger.debug(
              `Could not read the image-automation gauges: ${error}`,
            ),
        );
        const pollIntervalSeconds =
          settings?.getOptionalNumber('engine.pollIntervalSeconds') ?? 5;
        const health = new HealthCheck({
          ping: () => knex.raw('select 1'),
          engine,
          // Default: ten missed polls, but never less than a lease (renewed every third of it).
          stalledAfterMs:
            (settings?.getOptionalNumber('engine.stalledAfterSeconds') ??
              Math.max(
                10 * pollIntervalSeconds,
                settings?.getOptionalNumber('engine.leaseSeconds') ?? 300,
              )) * 1000,
          logger,
        });
        deps.permissionsRegistry.addPermissions(imageAutomationPermissions);
        // Serve a reconcile request, a resume or a promotion decision with a pass now, not at the next poll.
        const afterAction = () => {
          scheduler.triggerTask(RECONCILE_TASK).catch(() => {});
        };
        const service = new AuthorizedObjectService(
          new DefaultObjectService({
            objects,
            scans,
            events,
            inventories,
            afterAction,
            notifier,
          }),
          deps.permissions,
        );
        const promotionService = new AuthorizedPromotionService(
          new DefaultPromotionService({
            promotions: ownerNotifyingPromotionStore(promotions, owners),
            objects,
            events,
            afterAction,
            notifier,
          }),
          deps.permissions,
        );
        // Webhook calls carry no Backstage credentials; the route verifies them itself.
        deps.httpRouter.addAuthPolicy({
          path: '/hook',
          allow: 'unauthenticated',
        });
        deps.httpRouter.use(
          createHookRouter({
            hooks,
            maxBodyBytes: receiverSettings.maxBodyBytes,
          }),
        );
        deps.httpRouter.use(
          await createRouter({
            httpAuth: deps.httpAuth,
            auditor: deps.auditor,
            objects: service,
            promotions: promotionService,
            previews: new PromotionPreviewService({
              promotions,
              objects,
              permissions: deps.permissions,
              automations,
              resourceSets,
            }),
            versions: new VersionsService({
              objects,
              scans,
              promotions,
              permissions: deps.permissions,
              pods: async (name, labelSelector, namespaces) => {
                const client = await KubeClient.forCluster(
                  await clusterOf(name),
                );
                try {
                  return await readPodImages(client, {
                    labelSelector,
                    namespaces,
                  });
                } finally {
                  client.close();
                }
              },
            }),
            timeline: new TimelineService({
              objects,
              scans,
              promotions,
              events,
              permissions: deps.permissions,
            }),
            fleet: new FleetService({
              objects,
              promotionStore: promotions,
              promotions: promotionService,
              permissions: deps.permissions,
              catalog: deps.catalog,
            }),
            health,
          }),
        );
      },
    });
  },
});
