import http from 'node:http';
import { AddressInfo } from 'node:net';

/**
 * A stand-in for an `ExternalService` input provider's service (by definition someone's HTTP
 * service), on 127.0.0.1: `GET <path>` answers what `answer` says (default
 * `{"inputs": []}`), records every request (path, Authorization and Accept headers), and can
 * drop the next connections without an answer (`dropNext`), as a failing network would.
 */

export interface ExternalServiceRequest {
  method: string;
  path: string;
  authorization?: string;
  accept?: string;
}

export interface ExternalServiceStandIn {
  /** `http://127.0.0.1:<port>` */
  baseUrl: string;
  host: string;
  requests: ExternalServiceRequest[];
  /** What `path` answers: a status, a JSON-able body (or a raw string) and headers. */
  answer(
    path: string,
    reply: { status?: number; body: unknown; headers?: Record<string, string> },
  ): void;
  /** The next `count` connections are closed without an answer. */
  dropNext(count: number): void;
  stop(): Promise<void>;
}

export async function startExternalServiceStandIn(): Promise<ExternalServiceStandIn> {
  const requests: ExternalServiceRequest[] = [];
  const replies = new Map<
    string,
    { status?: number; body: unknown; headers?: Record<string, string> }
  >();
  let drops = 0;
  const server = http.createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://stand-in').pathname;
    requests.push({
      method: req.method ?? '',
      path,
      authorization: req.headers.authorization,
      accept: req.headers.accept,
    });
    if (drops > 0) {
      drops--;
      req.socket.destroy();
      return;
    }
    const reply = replies.get(path) ?? { body: { inputs: [] } };
    res.writeHead(reply.status ?? 200, {
      'content-type': 'application/json',
      ...(reply.headers ?? {}),
    });
    res.end(
      typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body),
    );
  });
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    requests,
    answer: (path, reply) => replies.set(path, reply),
    dropNext: count => {
      drops = count;
    },
    stop: () =>
      new Promise<void>(resolve => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
