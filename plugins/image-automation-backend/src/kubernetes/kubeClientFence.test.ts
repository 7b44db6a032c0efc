import http from 'node:http';
import { AddressInfo } from 'node:net';
import { KubeClient } from './KubeClient';

// A reconcile that lost its lease must not write to a cluster: the client it applies with is fenced
// by the reconcile's signal. A local HTTP server stands in for the API server and counts requests.
describe('KubeClient fenced by an abort signal', () => {
  const seen: string[] = [];
  let hang = false;
  let server: http.Server;
  let url: string;
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      if (hang) return; // never answers: only an abort ends the request
      res.setHeader('Content-Type', 'application/json');
      res.end('{"kind":"ConfigMap"}');
    });
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>(resolve => server.close(() => resolve())));
  beforeEach(() => {
    seen.length = 0;
    hang = false;
  });

  const cluster = () => ({
    name: 'c',
    url,
    source: 'config' as const,
    skipTLSVerify: true,
    writePolicy: {
      allowedKinds: ['*'],
      allowedClusterScopedKinds: ['*'],
      allowedNamespaces: ['*'],
    },
  });
  const path = '/api/v1/namespaces/app/configmaps/x';

  it('sends writes while the signal holds, and none once it aborted; reads still go out', async () => {
    const base = await KubeClient.forCluster(cluster());
    const control = new AbortController();
    const client = base.withDetails(cluster(), control.signal);
    try {
      await client.request('PATCH', path, { body: {} });
      expect(seen).toEqual([`PATCH ${path}`]);

      control.abort(
        new Error('the lease on ConfigMap/app/x was taken by another instance'),
      );
      for (const method of ['PATCH', 'POST', 'PUT', 'DELETE']) {
        await expect(
          client.request(method, path, { body: {} }),
        ).rejects.toThrow(
          'the lease on ConfigMap/app/x was taken by another instance',
        );
      }
      expect(seen).toEqual([`PATCH ${path}`]);
      // The unfenced client on the same connection is not affected.
      await base.request('DELETE', path);
      expect(seen).toEqual([`PATCH ${path}`, `DELETE ${path}`]);
    } finally {
      base.close();
    }
  });

  it('cancels a request in flight when the signal aborts', async () => {
    const base = await KubeClient.forCluster(cluster());
    const control = new AbortController();
    const client = base.withDetails(cluster(), control.signal);
    hang = true;
    try {
      const pending = client.request('GET', path);
      while (seen.length === 0)
        await new Promise(resolve => setTimeout(resolve, 10));
      const started = Date.now();
      control.abort(new Error('stopped'));
      await expect(pending).rejects.toThrow();
      // Well before the client's own 30 s timeout.
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      base.close();
    }
  });
});
