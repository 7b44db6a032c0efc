import { KubeConfig } from '@kubernetes/client-node';
import http from 'node:http';
import https from 'node:https';
import {
  ClusterUnreachableError,
  KubeApiError,
  KubeStatusCause,
} from './errors';
import { groupOf } from './inventoryId';
import { ClusterDetails, KubernetesObject } from './types';

/**
 * Where a kind lives in the API: its plural resource name and whether it is namespaced.
 * @internal
 */
export interface ApiResource {
  resource: string;
  namespaced: boolean;
}

/**
 * Options of {@link KubeClient.forCluster}.
 * @internal
 */
export interface KubeClientOptions {
  /** Impersonate this user (e.g. `system:serviceaccount:<ns>:<name>`) on every request. */
  impersonateUser?: string;
  /** Maximum open connections to the API server (default 8). */
  maxSockets?: number;
  /** Per-request timeout in milliseconds (default 30 s). */
  timeoutMs?: number;
}

/** Kubeconfig wants base64 for certificate data; app-config may hold PEM text. */
function base64Data(data: string | undefined): string | undefined {
  if (!data) {
    return undefined;
  }
  return data.trimStart().startsWith('-----BEGIN')
    ? Buffer.from(data).toString('base64')
    : data;
}

/**
 * A small JSON client for one cluster. Credentials (token, client certificate, CA, skip-TLS-verify,
 * impersonation) are turned into connection options by `@kubernetes/client-node`'s `KubeConfig`;
 * requests go through one keep-alive agent so that applying many objects reuses connections and can
 * run several requests in parallel, and bodies stay plain JSON (no model classes that drop fields).
 * @internal
 */
export class KubeClient {
  private constructor(
    readonly cluster: ClusterDetails,
    private readonly requestOptions: https.RequestOptions,
    private readonly agent: http.Agent,
    private readonly timeoutMs: number,
    private readonly discovery = new Map<
      string,
      Promise<Map<string, ApiResource>>
    >(),
    private readonly signal?: AbortSignal,
  ) {}

  /**
   * A client on the same connection (credentials, impersonation, keep-alive agent, discovery cache)
   * with other cluster details: the write policy and grants of another apply to the same API server
   * as the same identity. Closing either closes the connection of both. With `signal`, the client
   * is fenced by it: once it aborts, no request but a GET is sent, and requests in flight are
   * cancelled (a reconcile that lost its lease writes nothing more).
   */
  withDetails(cluster: ClusterDetails, signal = this.signal): KubeClient {
    return new KubeClient(
      cluster,
      this.requestOptions,
      this.agent,
      this.timeoutMs,
      this.discovery,
      signal,
    );
  }

  static async forCluster(
    cluster: ClusterDetails,
    options: KubeClientOptions = {},
  ): Promise<KubeClient> {
    const kc = new KubeConfig();
    const auth = cluster.auth;
    kc.loadFromOptions({
      clusters: [
        {
          name: cluster.name,
          server: cluster.url,
          caData: base64Data(cluster.caData),
          skipTLSVerify: !!cluster.skipTLSVerify,
        },
      ],
      users: [
        {
          name: 'image-automation',
          token: auth?.type === 'serviceAccount' ? auth.token : undefined,
          certData:
            auth?.type === 'clientCertificate'
              ? base64Data(auth.certData)
              : undefined,
          keyData:
            auth?.type === 'clientCertificate'
              ? base64Data(auth.keyData)
              : undefined,
          impersonateUser: options.impersonateUser,
        },
      ],
      contexts: [
        { name: cluster.name, cluster: cluster.name, user: 'image-automation' },
      ],
      currentContext: cluster.name,
    });
    const requestOptions: https.RequestOptions = {};
    await kc.applyToHTTPSOptions(requestOptions);
    const { ca, cert, key, rejectUnauthorized } = requestOptions;
    const agentOptions = {
      keepAlive: true,
      maxSockets: options.maxSockets ?? 8,
      ca,
      cert,
      key,
      rejectUnauthorized,
    };
    const agent = cluster.url.startsWith('http:')
      ? new http.Agent(agentOptions)
      : new https.Agent(agentOptions);
    return new KubeClient(
      cluster,
      requestOptions,
      agent,
      options.timeoutMs ?? 30_000,
    );
  }

  /** Closes the client's idle connections. */
  close(): void {
    this.agent.destroy();
  }

  /**
   * Sends one request and returns the decoded JSON body. Error statuses become {@link KubeApiError};
   * connection failures become {@link ClusterUnreachableError}.
   */
  async request<T = any>(
    method: string,
    path: string,
    options: {
      query?: Record<string, string | undefined>;
      body?: unknown;
      contentType?: string;
      /** `Accept` header (default `application/json`), e.g. to list metadata only. */
      accept?: string;
    } = {},
  ): Promise<T> {
    if (method !== 'GET') this.signal?.throwIfAborted();
    const url = new URL(path, this.cluster.url);
    for (const [name, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined) {
        url.searchParams.set(name, value);
      }
    }
    const body =
      options.body === undefined ? undefined : JSON.stringify(options.body);
    const headers: Record<string, string> = {
      ...(this.requestOptions.headers as Record<string, string>),
      Accept: options.accept ?? 'application/json',
    };
    if (body !== undefined) {
      headers['Content-Type'] = options.contentType ?? 'application/json';
      headers['Content-Length'] = String(Buffer.byteLength(body));
    }
    const transport = url.protocol === 'http:' ? http : https;
    const { statusCode, text } = await new Promise<{
      statusCode: number;
      text: string;
    }>((resolve, reject) => {
      const req = transport.request(
        url,
        {
          method,
          headers,
          agent: this.agent,
          timeout: this.timeoutMs,
          signal: this.signal,
        },
        res => {
          const chunks: Buffer[] = [];
          res.on('data', chunk => chunks.push(chunk));
          res.on('end', () =>
            resolve({
              statusCode: res.statusCode ?? 0,
              text: Buffer.concat(chunks).toString('utf8'),
            }),
          );
          res.on('error', reject);
        },
      );
      req.on('timeout', () =>
        req.destroy(new Error(`no answer within ${this.timeoutMs} ms`)),
      );
      req.on('error', reject);
      req.end(body);
    }).catch(error => {
      throw new ClusterUnreachableError(
        this.cluster.name,
        this.cluster.url,
        error as Error,
      );
    });
    let json: any;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    if (statusCode >= 200 && statusCode < 300) {
      return json as T;
    }
    if (statusCode === 502 || statusCode === 503 || statusCode === 504) {
      // A proxy in front of the API server, or an API server shutting down or not ready yet: transient.
      throw new ClusterUnreachableError(
        this.cluster.name,
        this.cluster.url,
        new Error(`HTTP ${statusCode}`),
      );
    }
    const causes: KubeStatusCause[] = json?.details?.causes ?? [];
    throw new KubeApiError(
      statusCode,
      json?.reason ?? `HTTP ${statusCode}`,
      json?.message ?? text,
      causes,
    );
  }

  /** Where `kind` of `apiVersion` lives, from API discovery (cached; refreshed once on a miss, for new CRDs). */
  async resourceFor(apiVersion: string, kind: string): Promise<ApiResource> {
    const lookup = async (refresh: boolean) => {
      if (refresh || !this.discovery.has(apiVersion)) {
        const path = apiVersion.includes('/')
          ? `/apis/${apiVersion}`
          : `/api/${apiVersion}`;
        const loading = this.request<{
          resources: Array<{ name: string; kind: string; namespaced: boolean }>;
        }>('GET', path)
          .then(list => {
            const byKind = new Map<string, ApiResource>();
            for (const r of list.resources) {
              if (!r.name.includes('/')) {
                byKind.set(r.kind, {
                  resource: r.name,
                  namespaced: r.namespaced,
                });
              }
            }
            return byKind;
          })
          .catch(error => {
            this.discovery.delete(apiVersion);
            if (error instanceof KubeApiError && error.statusCode === 404) {
              return new Map<string, ApiResource>();
            }
            throw error;
          });
        this.discovery.set(apiVersion, loading);
      }
      return (await this.discovery.get(apiVersion)!).get(kind);
    };
    const found = (await lookup(false)) ?? (await lookup(true));
    if (!found) {
      throw new KubeApiError(
        404,
        'NotFound',
        `no matches for kind "${kind}" in version "${apiVersion}" on cluster '${this.cluster.name}'`,
        [],
      );
    }
    return found;
  }

  /** The URL path of an object (or, without a name, of its collection). */
  async pathOf(ref: {
    apiVersion: string;
    kind: string;
    namespace?: string;
    name?: string;
  }): Promise<string> {
    const { resource, namespaced } = await this.resourceFor(
      ref.apiVersion,
      ref.kind,
    );
    if (namespaced && !ref.namespace && ref.name) {
      throw new Error(
        `${ref.kind}/${ref.name} is namespaced but has no namespace`,
      );
    }
    const base = groupOf(ref.apiVersion)
      ? `/apis/${ref.apiVersion}`
      : `/api/${ref.apiVersion}`;
    const ns =
      namespaced && ref.namespace
        ? `/namespaces/${encodeURIComponent(ref.namespace)}`
        : '';
    const name = ref.name ? `/${encodeURIComponent(ref.name)}` : '';
    return `${base}${ns}/${resource}${name}`;
  }

  /** Reads an object; `undefined` when it does not exist. */
  async get(ref: {
    apiVersion: string;
    kind: string;
    namespace?: string;
    name: string;
  }): Promise<KubernetesObject | undefined> {
    try {
      return await this.request<KubernetesObject>(
        'GET',
        await this.pathOf(ref),
      );
    } catch (error) {
      if (error instanceof KubeApiError && error.statusCode === 404) {
        return undefined;
      }
      throw error;
    }
  }
}
