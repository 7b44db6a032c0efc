import { mockServices } from '@backstage/backend-test-utils';
import { HealthCheck } from './HealthCheck';

// The database ping of the health check: a database that never answers counts as unreachable
// after five seconds (on jest's clock, not the wall clock), the reason goes to the log only, and
// an answer leaves no timer behind.

describe('the health check database ping', () => {
  const engine = {
    activity: () => ({
      lastPassAt: new Date('2030-01-01T00:00:00.000Z'),
      lastProgressAt: new Date('2030-01-01T00:00:00.000Z'),
    }),
  };
  const now = () => new Date('2030-01-01T00:00:01.000Z');

  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('reports a database that does not answer within five seconds as unreachable, and logs why', async () => {
    const logger = mockServices.logger.mock();
    const check = new HealthCheck({
      ping: () => new Promise(() => {}),
      engine,
      stalledAfterMs: 60_000,
      logger,
      now,
    }).check();
    await jest.advanceTimersByTimeAsync(4999);
    let settled = false;
    void check.then(() => {
      settled = true;
    });
    await Promise.resolve();
    expect(settled).toBe(false);
    await jest.advanceTimersByTimeAsync(1);
    expect(await check).toMatchObject({
      status: 'degraded',
      database: 'unreachable',
    });
    expect(logger.warn).toHaveBeenCalledWith(
      'Health check: the database did not answer: Error: no answer within 5000 ms',
    );
  });

  it('leaves no timer behind when the database answers', async () => {
    const report = await new HealthCheck({
      ping: async () => 1,
      engine,
      stalledAfterMs: 60_000,
      now,
    }).check();
    expect(report).toMatchObject({ status: 'ok', database: 'ok' });
    expect(jest.getTimerCount()).toBe(0);
  });
});
