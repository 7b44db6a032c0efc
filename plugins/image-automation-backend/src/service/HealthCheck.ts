import { LoggerService } from '@backstage/backend-plugin-api';

/** The answer of `GET /health`: nothing about objects, entities, registries or errors' texts. @internal */
export interface HealthReport {
  status: 'ok' | 'degraded';
  database: 'ok' | 'unreachable';
  engine: {
    status: 'ok' | 'starting' | 'stalled';
    /** When this instance's engine last completed a pass; null before the first. */
    lastPassAt: string | null;
    lastPassAgoSeconds: number | null;
    /** How long the engine may go without progress before it counts as stalled. */
    stalledAfterSeconds: number;
  };
}

/** How long a database ping may take before the database counts as unreachable. */
const PING_TIMEOUT_MS = 5000;

/**
 * The plugin's readiness on this instance (issue #16): its database answers, and its engine made
 * progress (a pass or a reconcile completed, or a lease of a long reconcile renewed) within
 * `stalledAfterMs`. Backstage's root readiness check (`/.backstage/health/v1/readiness`) takes no
 * contributions from plugins, so this is the plugin's own route.
 * @internal
 */
export class HealthCheck {
  constructor(
    private readonly options: {
      /** A trivial query; rejects when the database cannot be reached. */
      ping: () => Promise<unknown>;
      engine: { activity(): { lastPassAt?: Date; lastProgressAt: Date } };
      stalledAfterMs: number;
      logger?: LoggerService;
      now?: () => Date;
    },
  ) {}

  async check(): Promise<HealthReport> {
    const now = (this.options.now ?? (() => new Date()))();
    const database = await this.pingDatabase();
    const { lastPassAt, lastProgressAt } = this.options.engine.activity();
    const stalled =
      now.getTime() - lastProgressAt.getTime() > this.options.stalledAfterMs;
    let status: HealthReport['engine']['status'] = lastPassAt
      ? 'ok'
      : 'starting';
    if (stalled) status = 'stalled';
    const engine: HealthReport['engine'] = {
      status,
      lastPassAt: lastPassAt?.toISOString() ?? null,
      lastPassAgoSeconds: lastPassAt
        ? Math.max(0, Math.round((now.getTime() - lastPassAt.getTime()) / 1000))
        : null,
      stalledAfterSeconds: Math.round(this.options.stalledAfterMs / 1000),
    };
    return {
      status: database === 'ok' && !stalled ? 'ok' : 'degraded',
      database,
      engine,
    };
  }

  private async pingDatabase(): Promise<HealthReport['database']> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await Promise.race([
        this.options.ping(),
        new Promise((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`no answer within ${PING_TIMEOUT_MS} ms`)),
            PING_TIMEOUT_MS,
          );
        }),
      ]);
      return 'ok';
    } catch (error) {
      // The reason goes to the log only: a driver's message may name hosts or users.
      this.options.logger?.warn(
        `Health check: the database did not answer: ${error}`,
      );
      return 'unreachable';
    } finally {
      clearTimeout(timer);
    }
  }
}
