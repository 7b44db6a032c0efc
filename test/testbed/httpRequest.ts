import http from 'node:http';
import https from 'node:https';

/** A buffered HTTP response. @internal */
export interface TestbedResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** Options of {@link request}. @internal */
export interface TestbedRequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: Buffer | string;
  ca?: string;
  cert?: string;
  key?: string;
  timeoutMs?: number;
}

const agents = new Map<string, http.Agent>();

// The test bed's own tiny HTTP client (seeding registries, probing readiness): the product's
// registry client is what the tests exercise, so the bed must not depend on it.
function agentFor(url: URL, options: TestbedRequestOptions): http.Agent {
  const key = `${url.protocol}|${options.ca ?? ''}|${options.cert ?? ''}`;
  let agent = agents.get(key);
  if (!agent) {
    agent =
      url.protocol === 'https:'
        ? new https.Agent({
            keepAlive: true,
            maxSockets: 16,
            ca: options.ca,
            cert: options.cert,
            key: options.key,
          })
        : new http.Agent({ keepAlive: true, maxSockets: 16 });
    agents.set(key, agent);
  }
  return agent;
}

/** Sends one request and buffers the answer. @internal */
export function request(
  target: string,
  options: TestbedRequestOptions = {},
): Promise<TestbedResponse> {
  const url = new URL(target);
  const transport = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = transport.request(
      url,
      {
        method: options.method ?? 'GET',
        headers: options.headers,
        agent: agentFor(url, options),
        timeout: options.timeoutMs ?? 30_000,
      },
      res => {
        const chunks: Buffer[] = [];
        res.on('data', chunk => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () =>
      req.destroy(new Error(`timeout: ${options.method ?? 'GET'} ${target}`)),
    );
    req.on('error', reject);
    req.end(options.body);
  });
}
