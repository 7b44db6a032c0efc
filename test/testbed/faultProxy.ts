import http from 'node:http';
import https from 'node:https';

/** What the proxy does to a matching request. @public */
export type FaultAction =
  /** Answer with this status (and headers/body) instead of forwarding. */
  | { status: number; headers?: Record<string, string>; body?: string }
  /** Wait, then forward (a slow registry). */
  | { delayMs: number }
  /** Destroy the connection without answering. */
  | { reset: true }
  /** Forward, then replace the response body (e.g. malformed JSON). */
  | { replaceBody: string }
  /** Answer 200 with a JSON-looking body of this many bytes, streamed. */
  | { oversizedBytes: number }
  /** Forward, then rewrite the response headers (e.g. a `Link` to another host). */
  | {
      rewriteHeaders: (
        headers: http.IncomingHttpHeaders,
      ) => http.OutgoingHttpHeaders;
    };

/** One fault: applied to the next `times` requests that `match`. @public */
export interface Fault {
  match?: (request: { method: string; path: string }) => boolean;
  /** How many matching requests it affects. Default 1; `Infinity` for all. */
  times?: number;
  action: FaultAction;
}

/** A running fault-injecting proxy. @public */
export interface FaultProxy {
  /** `127.0.0.1:PORT` */
  host: string;
  url: string;
  /** Every request seen, in order. */
  requests: Array<{ method: string; path: string; fault: boolean }>;
  /** Most requests that were in flight at once since the last `clear()`. */
  maxInFlight(): number;
  inject(fault: Fault): void;
  clear(): void;
  stop(): Promise<void>;
}

/**
 * A reverse proxy on 127.0.0.1 (plain HTTP) in front of a real registry (`target`, HTTP or
 * HTTPS with `ca`), injecting faults — errors, 429s, delays, resets, bad bodies — on demand.
 * @public
 */
export async function startFaultProxy(
  target: string,
  options: { ca?: string } = {},
): Promise<FaultProxy> {
  const targetUrl = new URL(target);
  const faults: Array<Required<Pick<Fault, 'times'>> & Fault> = [];
  const requests: FaultProxy['requests'] = [];
  const agent =
    targetUrl.protocol === 'https:'
      ? new https.Agent({ keepAlive: true, ca: options.ca })
      : new http.Agent({ keepAlive: true });

  function take(method: string, path: string): FaultAction | undefined {
    const index = faults.findIndex(f => !f.match || f.match({ method, path }));
    if (index < 0) {
      return undefined;
    }
    const fault = faults[index];
    fault.times -= 1;
    if (fault.times <= 0) {
      faults.splice(index, 1);
    }
    return fault.action;
  }

  function forward(
    req: http.IncomingMessage,
    body: Buffer,
    res: http.ServerResponse,
    transform?: FaultAction,
  ) {
    const transport = targetUrl.protocol === 'https:' ? https : http;
    const headers = { ...req.headers, host: targetUrl.host };
    const upstream = transport.request(
      new URL(req.url ?? '/', targetUrl),
      { method: req.method, headers, agent },
      upstreamRes => {
        let outHeaders: http.OutgoingHttpHeaders = { ...upstreamRes.headers };
        if (transform && 'rewriteHeaders' in transform) {
          outHeaders = transform.rewriteHeaders(upstreamRes.headers);
        }
        if (transform && 'replaceBody' in transform) {
          upstreamRes.resume();
          upstreamRes.on('end', () => {
            delete outHeaders['content-length'];
            delete outHeaders['transfer-encoding'];
            res.writeHead(upstreamRes.statusCode ?? 502, outHeaders);
            res.end(transform.replaceBody);
          });
          return;
        }
        res.writeHead(upstreamRes.statusCode ?? 502, outHeaders);
        upstreamRes.pipe(res);
      },
    );
    upstream.on('error', error => {
      res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`proxy: ${error.message}`);
    });
    upstream.end(body);
  }

  let inFlight = 0;
  let maxInFlight = 0;
  const server = http.createServer((req, res) => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    let counted = true;
    const finished = () => {
      if (counted) {
        counted = false;
        inFlight--;
      }
    };
    res.on('close', finished);
    const chunks: Buffer[] = [];
    req.on('data', c => chunks.push(c));
    req.on('end', () => {
      const method = req.method ?? 'GET';
      const path = req.url ?? '/';
      const action = take(method, path);
      requests.push({ method, path, fault: action !== undefined });
      const body = Buffer.concat(chunks);
      if (!action) {
        forward(req, body, res);
      } else if ('status' in action) {
        res.writeHead(action.status, {
          'content-type': 'application/json',
          ...action.headers,
        });
        res.end(action.body ?? '');
      } else if ('delayMs' in action) {
        const timer = setTimeout(() => forward(req, body, res), action.delayMs);
        res.on('close', () => clearTimeout(timer));
      } else if ('reset' in action) {
        req.socket.destroy();
      } else if ('oversizedBytes' in action) {
        res.writeHead(200, { 'content-type': 'application/json' });
        const chunk = Buffer.alloc(64 * 1024, 'a');
        let sent = 0;
        const pump = () => {
          while (sent < action.oversizedBytes) {
            sent += chunk.length;
            if (!res.write(chunk)) {
              res.once('drain', pump);
              return;
            }
          }
          res.end();
        };
        res.write('{"name":"x","tags":["');
        pump();
      } else {
        forward(req, body, res, action);
      }
    });
  });
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    host: `127.0.0.1:${port}`,
    url: `http://127.0.0.1:${port}`,
    requests,
    maxInFlight: () => maxInFlight,
    inject(fault) {
      faults.push({ ...fault, times: fault.times ?? 1 });
    },
    clear() {
      faults.length = 0;
      requests.length = 0;
      maxInFlight = inFlight;
    },
    async stop() {
      server.closeAllConnections();
      await new Promise(resolve => server.close(resolve));
      agent.destroy();
    },
  };
}
