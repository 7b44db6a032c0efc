import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import tls from 'node:tls';
import { Config } from '@backstage/config';
import type { ImageReference, RegistryCredentials } from '../registry';
import { isHostAllowed } from '../registry/allowedHosts';
import { sendRequest } from '../registry/httpTransport';
import {
  CloudProvider,
  CloudRegistry,
  matchCloudRegistry,
} from './hostPatterns';

/** The user name ACR expects with a refresh token from `/oauth2/exchange`. @internal */
export const ACR_REFRESH_TOKEN_USER = '00000000-0000-0000-0000-000000000000';
/** The user name GCR and Artifact Registry expect with an OAuth2 access token. @internal */
export const GCP_ACCESS_TOKEN_USER = 'oauth2accesstoken';

/** A token is renewed this long before it expires (at most half its lifetime). */
const RENEW_BEFORE_MS = 5 * 60 * 1000;
/** How long an ACR refresh token is kept when its expiry cannot be read (ACR's are valid for 3 h). */
const ACR_REFRESH_FALLBACK_MS = 60 * 60 * 1000;
const GCP_SCOPE = 'https://www.googleapis.com/auth/cloud-platform';
const AZURE_SCOPES: Record<string, string> = {
  'azurecr.io': 'https://management.azure.com/.default',
  'azurecr.cn': 'https://management.chinacloudapi.cn/.default',
  'azurecr.us': 'https://management.usgovcloudapi.net/.default',
  'azurecr.de': 'https://management.microsoftazure.de/.default',
};

/**
 * Why an object may not use a cloud identity for a registry; `reason` is the condition's reason.
 * Raised before any token is requested.
 * @internal
 */
export class CloudIdentityRefusedError extends Error {
  constructor(
    readonly reason:
      | 'CloudIdentityNotGranted'
      | 'RegistryNotAllowed'
      | 'RegistryHostMismatch',
    message: string,
  ) {
    super(message);
    this.name = 'CloudIdentityRefusedError';
  }
}

/** A token request that failed: the provider, and the HTTP status when there was an answer. @internal */
export class CloudTokenError extends Error {
  constructor(message: string, readonly status?: number) {
    super(message);
    this.name = 'CloudTokenError';
  }
}

interface ProviderSettings {
  /** Lower-cased entity refs; undefined when not configured (nobody). */
  allowedEntities?: string[];
  registries: string[];
}

interface AwsSettings extends ProviderSettings {
  endpoint?: string;
}

interface AzureSettings extends ProviderSettings {
  tenantId?: string;
  clientId?: string;
  clientSecret?: string;
  authorityHost?: string;
}

/** The `imageAutomation.cloudIdentity` section. @internal */
export interface CloudIdentitySettings {
  aws?: AwsSettings;
  gcp?: ProviderSettings;
  azure?: AzureSettings;
}

/** Options of {@link CloudRegistryAuth}; the seams marked "test only" are never read from config. @internal */
export interface CloudRegistryAuthOptions {
  /** `imageAutomation.allowedRegistries`: a cloud registry must be in it too. */
  allowedRegistries: string[];
  logger?: { debug(message: string): void; warn(message: string): void };
  /** Test only: the clock token expiry is measured with. */
  now?: () => number;
  /** Test only: a CA trusted for the Azure AD and ACR exchange endpoints, besides the system's. */
  ca?: string;
  /** Test only: name resolution for the Azure AD and ACR exchange endpoints (a stand-in's cloud hostnames). */
  lookup?: LookupFunction;
}

interface CachedCredentials {
  credentials: Extract<RegistryCredentials, { type: 'basic' }>;
  expiresAt: number;
  renewAt: number;
}

function readProvider(
  config: Config | undefined,
): ProviderSettings | undefined {
  if (!config) return undefined;
  return {
    allowedEntities: config
      .getOptionalStringArray('allowedEntities')
      ?.map(ref => ref.toLocaleLowerCase('en-US')),
    registries: config.getOptionalStringArray('registries') ?? [],
  };
}

/** Reads `imageAutomation.cloudIdentity`. @internal */
export function readCloudIdentitySettings(
  config: Config,
): CloudIdentitySettings {
  const section = config.getOptionalConfig('imageAutomation.cloudIdentity');
  const aws = section?.getOptionalConfig('aws');
  const gcp = section?.getOptionalConfig('gcp');
  const azure = section?.getOptionalConfig('azure');
  return {
    aws: aws && {
      ...readProvider(aws)!,
      endpoint: aws.getOptionalString('endpoint'),
    },
    gcp: readProvider(gcp),
    azure: azure && {
      ...readProvider(azure)!,
      tenantId: azure.getOptionalString('tenantId'),
      clientId: azure.getOptionalString('clientId'),
      clientSecret: azure.getOptionalString('clientSecret'),
      authorityHost: azure.getOptionalString('authorityHost'),
    },
  };
}

// The SDKs are loaded on first use: a backend that uses no cloud identity does not load them.
const awsEcr = (): typeof import('@aws-sdk/client-ecr') =>
  require('@aws-sdk/client-ecr');
const googleAuth = (): typeof import('google-auth-library') =>
  require('google-auth-library');
const azureIdentity = (): typeof import('@azure/identity') =>
  require('@azure/identity');
const azurePipeline = (): typeof import('@azure/core-rest-pipeline') =>
  require('@azure/core-rest-pipeline');

function remaining(deadline: number): number {
  return Math.max(1, deadline - Date.now());
}

/** `exp` of a JWT, in epoch ms, when `token` is one. */
function jwtClaims(token: string): { exp?: number; tid?: string } {
  const payload = token.split('.')[1];
  if (!payload) return {};
  try {
    const claims = JSON.parse(
      Buffer.from(payload, 'base64url').toString('utf8'),
    );
    return {
      exp: typeof claims.exp === 'number' ? claims.exp * 1000 : undefined,
      tid: typeof claims.tid === 'string' ? claims.tid : undefined,
    };
  } catch {
    return {};
  }
}

function withTimeout<T>(
  promise: Promise<T>,
  ms: number,
  what: string,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<T>((_, reject) => {
      timer = setTimeout(
        () => reject(new CloudTokenError(`${what}: no answer within ${ms} ms`)),
        ms,
      );
    }),
  ]).finally(() => clearTimeout(timer));
}

/**
 * Registry credentials from the backend's own cloud identity (issue #20): Amazon ECR
 * (`GetAuthorizationToken` through the AWS SDK's default credential chain), Google Artifact
 * Registry and Container Registry (an access token from Google's application default
 * credentials) and Azure Container Registry (an Azure AD token exchanged at the registry's
 * `/oauth2/exchange` for a refresh token). That identity is the platform's, so it is fenced like a
 * named credential: `imageAutomation.cloudIdentity.<provider>` lists the entities that may use it
 * (`allowedEntities`) and the registries it may be used for (`registries`); absent or empty
 * allows nothing, and a refused object gets no token requested for it. Credentials are cached per
 * provider and registry until shortly before they expire.
 * @internal
 */
export class CloudRegistryAuth {
  private readonly cache = new Map<string, CachedCredentials>();
  private readonly pending = new Map<string, Promise<CachedCredentials>>();
  /** Every token obtained, and configured secrets: removed from any message. */
  private readonly secrets = new Set<string>();
  private readonly now: () => number;
  private readonly agent?: https.Agent;
  private readonly ecrClients = new Map<
    string,
    import('@aws-sdk/client-ecr').ECRClient
  >();
  private googleAuth?: import('google-auth-library').GoogleAuth;
  private azureCredential?: import('@azure/identity').TokenCredential;
  /** The HTTP status of the last failing Azure AD answer (the SDK's errors do not carry it). */
  private lastAzureStatus?: number;

  static fromConfig(
    config: Config,
    options: CloudRegistryAuthOptions,
  ): CloudRegistryAuth {
    return new CloudRegistryAuth(readCloudIdentitySettings(config), options);
  }

  constructor(
    private readonly settings: CloudIdentitySettings,
    private readonly options: CloudRegistryAuthOptions,
  ) {
    this.now = options.now ?? Date.now;
    if (settings.azure?.clientSecret)
      this.secrets.add(settings.azure.clientSecret);
    if (options.ca || options.lookup) {
      this.agent = new https.Agent({
        keepAlive: true,
        ca: options.ca ? [...tls.rootCertificates, options.ca] : undefined,
        lookup: options.lookup,
      });
    }
  }

  /**
   * Checks that the object of `entityRef` may use `provider`'s identity for the registry of `ref`:
   * the provider is configured, grants the entity, lists the registry, the registry is in
   * `imageAutomation.allowedRegistries`, and its host is one of the provider's. Throws a
   * {@link CloudIdentityRefusedError} otherwise. Makes no request.
   */
  admit(
    provider: CloudProvider,
    ref: ImageReference,
    entityRef: string | undefined,
  ): CloudRegistry {
    const key = `imageAutomation.cloudIdentity.${provider}`;
    const settings = this.settings[provider];
    const who = entityRef ?? 'objects without an entity';
    if (!settings) {
      throw new CloudIdentityRefusedError(
        'CloudIdentityNotGranted',
        `provider '${provider}' cannot be used: ${key} is not configured, so the backend's ${provider} identity is not available to any entity`,
      );
    }
    const entity = entityRef?.toLocaleLowerCase('en-US');
    if (!entity || !settings.allowedEntities?.includes(entity)) {
      throw new CloudIdentityRefusedError(
        'CloudIdentityNotGranted',
        `the backend's ${provider} identity is not granted to ${who} (${key}.allowedEntities)`,
      );
    }
    const matched = matchCloudRegistry(provider, ref.registry);
    if (!matched.ok) {
      throw new CloudIdentityRefusedError(
        'RegistryHostMismatch',
        matched.message,
      );
    }
    if (!isHostAllowed(ref.registry, settings.registries)) {
      throw new CloudIdentityRefusedError(
        'RegistryNotAllowed',
        `registry host ${ref.registry} is not in ${key}.registries, the registries the backend's ${provider} identity may be used for`,
      );
    }
    if (!isHostAllowed(ref.registry, this.options.allowedRegistries)) {
      throw new CloudIdentityRefusedError(
        'RegistryNotAllowed',
        `registry host ${ref.registry} is not in imageAutomation.allowedRegistries, the registry hosts this backend may contact`,
      );
    }
    if (ref.scheme !== 'https') {
      throw new CloudIdentityRefusedError(
        'RegistryNotAllowed',
        `registry ${ref.registry} is addressed over plain HTTP; cloud registry tokens are only sent over HTTPS (remove spec.insecure)`,
      );
    }
    return matched.registry;
  }

  /**
   * Basic credentials for an admitted registry (see {@link CloudRegistryAuth.admit}): cached, or
   * a fresh token. Throws a {@link CloudTokenError} naming the provider and the HTTP status.
   */
  async credentials(
    registry: CloudRegistry,
    options: { timeoutMs?: number; signal?: AbortSignal } = {},
  ): Promise<Extract<RegistryCredentials, { type: 'basic' }>> {
    const key = `${registry.provider}|${registry.host.toLowerCase()}`;
    const cached = this.cache.get(key);
    if (cached && this.now() < cached.renewAt) return cached.credentials;
    let fetching = this.pending.get(key);
    if (!fetching) {
      const deadline = Date.now() + (options.timeoutMs ?? 60_000);
      fetching = this.fetch(registry, deadline, options.signal);
      this.pending.set(key, fetching);
      fetching
        .finally(() => {
          if (this.pending.get(key) === fetching) this.pending.delete(key);
        })
        .catch(() => {});
    }
    let fresh: CachedCredentials;
    try {
      fresh = await fetching;
    } catch (error) {
      const status = (error as CloudTokenError).status;
      throw new CloudTokenError(
        this.redact(
          `failed to get a registry token for ${registry.host} from provider '${
            registry.provider
          }': ${(error as Error).message}`,
        ),
        status,
      );
    }
    this.cache.set(key, fresh);
    this.options.logger?.debug(
      `cloud identity ${registry.provider}: registry token for ${
        registry.host
      } valid until ${new Date(fresh.expiresAt).toISOString()}`,
    );
    return fresh.credentials;
  }

  /** Removes every token this instance obtained, and configured secrets, from `message`. */
  redact(message: string): string {
    let out = message;
    for (const secret of this.secrets) {
      if (secret.length >= 4) out = out.split(secret).join('*****');
    }
    return out;
  }

  private remember(
    credentials: Extract<RegistryCredentials, { type: 'basic' }>,
    expiresAt: number,
  ): CachedCredentials {
    this.secrets.add(credentials.password);
    this.secrets.add(
      Buffer.from(`${credentials.username}:${credentials.password}`).toString(
        'base64',
      ),
    );
    const now = this.now();
    const lifetime = Math.max(0, expiresAt - now);
    return {
      credentials,
      expiresAt,
      renewAt: expiresAt - Math.min(RENEW_BEFORE_MS, lifetime / 2),
    };
  }

  private fetch(
    registry: CloudRegistry,
    deadline: number,
    signal?: AbortSignal,
  ): Promise<CachedCredentials> {
    switch (registry.provider) {
      case 'aws':
        return this.fetchEcr(registry, deadline, signal);
      case 'gcp':
        return this.fetchGcp(deadline);
      case 'azure':
        return this.fetchAcr(registry, deadline, signal);
      default:
        throw new CloudTokenError('unknown provider');
    }
  }

  private ecrClient(region: string) {
    let client = this.ecrClients.get(region);
    if (!client) {
      client = new (awsEcr().ECRClient)({
        region,
        endpoint: this.settings.aws?.endpoint,
        maxAttempts: 2,
      });
      this.ecrClients.set(region, client);
    }
    return client;
  }

  /** ECR: `GetAuthorizationToken` signed with the SDK's default credential chain → `AWS:<password>`. */
  private async fetchEcr(
    registry: Extract<CloudRegistry, { provider: 'aws' }>,
    deadline: number,
    signal?: AbortSignal,
  ): Promise<CachedCredentials> {
    const { GetAuthorizationTokenCommand } = awsEcr();
    const client = this.ecrClient(registry.region);
    const abort = AbortSignal.any([
      AbortSignal.timeout(remaining(deadline)),
      ...(signal ? [signal] : []),
    ]);
    let output;
    try {
      output = await client.send(new GetAuthorizationTokenCommand({}), {
        abortSignal: abort,
      });
    } catch (error) {
      const e = error as Error & { $metadata?: { httpStatusCode?: number } };
      const status = e.$metadata?.httpStatusCode;
      throw new CloudTokenError(
        `ECR GetAuthorizationToken in ${registry.region} failed${
          status ? ` (HTTP ${status})` : ''
        }: ${e.name}: ${e.message}`,
        status,
      );
    }
    const data = output.authorizationData?.[0];
    const decoded = data?.authorizationToken
      ? Buffer.from(data.authorizationToken, 'base64').toString('utf8')
      : '';
    const colon = decoded.indexOf(':');
    if (colon <= 0) {
      throw new CloudTokenError(
        'ECR GetAuthorizationToken answered without an authorization token',
      );
    }
    const credentials = {
      type: 'basic' as const,
      username: decoded.slice(0, colon),
      password: decoded.slice(colon + 1),
    };
    const expiresAt = data?.expiresAt
      ? new Date(data.expiresAt).getTime()
      : this.now() + 60 * 60 * 1000;
    return this.remember(credentials, expiresAt);
  }

  /** GAR/GCR: an access token from application default credentials → `oauth2accesstoken:<token>`. */
  private async fetchGcp(deadline: number): Promise<CachedCredentials> {
    if (!this.googleAuth) {
      const { GoogleAuth } = googleAuth();
      this.googleAuth = new GoogleAuth({ scopes: [GCP_SCOPE] });
    }
    const auth = this.googleAuth;
    const token = await withTimeout(
      (async () => {
        try {
          const client = await auth.getClient();
          const answer = await client.getAccessToken();
          const expiry = (
            client as { credentials?: { expiry_date?: number | null } }
          ).credentials?.expiry_date;
          return { token: answer.token, expiry: expiry ?? undefined };
        } catch (error) {
          const status = (error as { response?: { status?: number } }).response
            ?.status;
          throw new CloudTokenError(
            `the Google access token request failed${
              status ? ` (HTTP ${status})` : ''
            }: ${(error as Error).message}`,
            status,
          );
        }
      })(),
      remaining(deadline),
      'the Google access token request',
    );
    if (!token.token)
      throw new CloudTokenError('the Google credentials gave no access token');
    return this.remember(
      { type: 'basic', username: GCP_ACCESS_TOKEN_USER, password: token.token },
      token.expiry ?? this.now() + 30 * 60 * 1000,
    );
  }

  private async azure(): Promise<import('@azure/identity').TokenCredential> {
    if (this.azureCredential) return this.azureCredential;
    const identity = azureIdentity();
    const { createDefaultHttpClient } = azurePipeline();
    const inner = createDefaultHttpClient();
    const agent = this.agent;
    // Records the status of a failing answer (the SDK's errors do not carry it); the test seams'
    // agent (CA, name resolution) when set.
    const httpClient = {
      sendRequest: async (
        request: import('@azure/core-rest-pipeline').PipelineRequest,
      ) => {
        if (agent) request.agent = agent;
        const response = await inner.sendRequest(request);
        if (response.status >= 400) this.lastAzureStatus = response.status;
        return response;
      },
    };
    const s = this.settings.azure!;
    const common = {
      authorityHost: s.authorityHost,
      httpClient,
      ...(this.agent ? { disableInstanceDiscovery: true } : {}),
    };
    this.azureCredential =
      s.clientSecret && s.tenantId && s.clientId
        ? new identity.ClientSecretCredential(
            s.tenantId,
            s.clientId,
            s.clientSecret,
            common,
          )
        : new identity.DefaultAzureCredential({
            ...common,
            tenantId: s.tenantId,
            managedIdentityClientId: s.clientId,
          });
    return this.azureCredential;
  }

  /**
   * ACR: an Azure AD token for Azure Resource Manager, exchanged at
   * `POST https://<registry>/oauth2/exchange` for a refresh token, which logs in as
   * `00000000-0000-0000-0000-000000000000`.
   */
  private async fetchAcr(
    registry: Extract<CloudRegistry, { provider: 'azure' }>,
    deadline: number,
    signal?: AbortSignal,
  ): Promise<CachedCredentials> {
    const credential = await this.azure();
    const scope = AZURE_SCOPES[registry.suffix] ?? AZURE_SCOPES['azurecr.io'];
    this.lastAzureStatus = undefined;
    let aad;
    try {
      aad = await withTimeout(
        credential.getToken(scope, { abortSignal: signal }),
        remaining(deadline),
        'the Azure AD token request',
      );
    } catch (error) {
      const status = this.lastAzureStatus;
      throw new CloudTokenError(
        `the Azure AD token request failed${
          status ? ` (HTTP ${status})` : ''
        }: ${(error as Error).message.split('\n')[0]}`,
        status,
      );
    }
    if (!aad?.token)
      throw new CloudTokenError('the Azure AD token request gave no token');
    this.secrets.add(aad.token);
    const tenant = this.settings.azure?.tenantId ?? jwtClaims(aad.token).tid;
    const url = new URL(`https://${registry.host}/oauth2/exchange`);
    const form = new URLSearchParams({
      grant_type: 'access_token',
      service: registry.host,
      ...(tenant ? { tenant } : {}),
      access_token: aad.token,
    });
    const response = await sendRequest({
      method: 'POST',
      url,
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'user-agent': 'backstage-image-automation',
      },
      body: form.toString(),
      agent: this.agent ?? (https.globalAgent as http.Agent),
      timeoutMs: remaining(deadline),
      maxBodyBytes: 1024 * 1024,
      signal,
    }).catch(error => {
      throw new CloudTokenError(
        `the ACR token exchange failed: ${(error as Error).message}`,
      );
    });
    if (response.status !== 200) {
      throw new CloudTokenError(
        `the ACR token exchange POST ${url} answered HTTP ${response.status}`,
        response.status,
      );
    }
    let refreshToken: unknown;
    try {
      refreshToken = JSON.parse(response.body.toString('utf8')).refresh_token;
    } catch {
      refreshToken = undefined;
    }
    if (typeof refreshToken !== 'string' || refreshToken === '') {
      throw new CloudTokenError(
        `the ACR token exchange POST ${url} answered without a refresh_token`,
      );
    }
    const expiresAt =
      jwtClaims(refreshToken).exp ??
      Math.min(aad.expiresOnTimestamp, this.now() + ACR_REFRESH_FALLBACK_MS);
    return this.remember(
      {
        type: 'basic',
        username: ACR_REFRESH_TOKEN_USER,
        password: refreshToken,
      },
      expiresAt,
    );
  }
}
