import {
  FaultProxy,
  pushImage,
  startFaultProxy,
  startRegistry,
  TestRegistry,
} from '@internal/image-automation-test/testbed';
import { parseImageReference } from './parseImageReference';
import { RegistryClient } from './RegistryClient';
import { RegistryError } from './RegistryError';
import { MAX_MESSAGE_LENGTH } from '../util/truncateMessage';

// Issue #13: a registry (or whatever answers for it) can send multi-megabyte error bodies on
// every retry. Real registry, fault proxy in front; the client reads only the head of an error
// body and every message it produces is bounded.

async function failure(promise: Promise<unknown>): Promise<RegistryError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(RegistryError);
    return error as RegistryError;
  }
  throw new Error('expected the call to fail');
}

describe('RegistryClient with huge error bodies', () => {
  let registry: TestRegistry;
  let proxy: FaultProxy;
  const client = new RegistryClient({
    retries: { attempts: 2, baseDelayMs: 1, maxDelayMs: 1 },
  });
  const ref = () =>
    parseImageReference(`${proxy.host}/team/app`, { insecure: true });

  beforeAll(async () => {
    registry = await startRegistry();
    await pushImage(registry, 'team/app', ['1.0.0']);
    proxy = await startFaultProxy(registry.url);
  }, 120_000);

  afterAll(async () => {
    await proxy?.stop();
    await registry?.stop();
  });

  afterEach(() => proxy.clear());

  it('keeps the status of a 40 MB HTML 500 (over maxBodyBytes) and a short message', async () => {
    proxy.inject({
      times: Infinity,
      match: r => r.path.includes('/tags/list'),
      action: {
        status: 500,
        body: `<html>${'<p>oops</p>'.repeat(4_000_000)}</html>`,
      },
    });
    const error = await failure(client.listTags(ref()));
    // Before: the body was read up to 32 MiB, then the call failed as `invalidResponse`.
    expect(error.kind).toBe('server');
    expect(error.status).toBe(500);
    expect(error.message.length).toBeLessThanOrEqual(MAX_MESSAGE_LENGTH);
    expect(error.message).toMatch(
      /^GET http:\/\/127\.0\.0\.1:\d+\/v2\/team\/app\/tags\/list\?n=1000: unexpected status code 500 Internal Server Error: <html><p>oops/,
    );
    expect(proxy.requests.filter(r => r.fault)).toHaveLength(2);
  }, 60_000);

  // 1000 diagnostics: ~50 KB, under the 64 KiB read for an error body, so parsed as JSON.
  it('bounds a message built from a thousand registry diagnostics', async () => {
    const errors = Array.from({ length: 1000 }, (_, i) => ({
      code: 'DENIED',
      message: `no ${i}`,
      detail: { i },
    }));
    proxy.inject({
      match: r => r.path.includes('/tags/list'),
      action: {
        status: 400,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ errors }),
      },
    });
    const error = await failure(client.listTags(ref()));
    expect(error.status).toBe(400);
    expect(error.message.length).toBeLessThanOrEqual(MAX_MESSAGE_LENGTH);
    expect(error.message).toMatch(
      /: multiple errors returned: DENIED: no 0; map\[i:0\]; DENIED: no 1;/,
    );
    expect(error.message).toMatch(/… \(\d+ more characters\)$/);
    // A legitimate call through the same client still works.
    await expect(client.listTags(ref())).resolves.toBeDefined();
  }, 60_000);
});
