import { ConfigReader } from '@backstage/config';
import {
  CloudIdentityRefusedError,
  CloudRegistryAuth,
} from '../cloud/CloudRegistryAuth';
import { NamedCredentials } from '../credentials/NamedCredentials';
import { parseImageReference } from '../registry/parseImageReference';
import {
  cloudRegistryCallOptions,
  NO_CLOUD_IDENTITY,
  registryCallOptions,
  registryCredentialOptions,
} from './registryCallOptions';

const SHOP = 'component:default/shop';
const OTHER = 'component:default/other';

const credentials = NamedCredentials.fromConfig(
  new ConfigReader({
    imageAutomation: {
      credentials: {
        acme: {
          type: 'basic',
          username: 'robot',
          password: 'registry-secret',
          allowedEntities: [SHOP],
          hosts: ['ghcr.io/acme', 'acme.azurecr.io'],
        },
        ca: {
          type: 'tls',
          ca: 'CA PEM',
          allowedEntities: [SHOP],
          hosts: ['ghcr.io', 'acme.azurecr.io'],
        },
      },
      registry: { insecureHosts: ['acme.azurecr.io'] },
    },
  }),
);

const ghcr = parseImageReference('ghcr.io/acme/web');

describe('registryCallOptions', () => {
  it("resolves the named credentials for the object's entity and the image's registry and repository", () => {
    const options = registryCallOptions(
      {
        image: 'ghcr.io/acme/web',
        interval: '5m',
        secretRef: { name: 'acme' },
        certSecretRef: { name: 'ca' },
      },
      ghcr,
      SHOP,
      credentials,
    );
    expect(options).toEqual({
      credentials: {
        type: 'basic',
        username: 'robot',
        password: 'registry-secret',
      },
      tls: credentials.resolveTls('ca', SHOP, {
        kind: 'registry',
        host: 'ghcr.io',
        repository: 'acme/web',
      }),
      credentialHosts: ['ghcr.io', 'acme.azurecr.io'],
      plainHttpCredentials: false,
      timeoutMs: 300_000,
    });
    expect(options.tls).toBeDefined();
  });

  it('sends nothing when the object names no credential', () => {
    expect(
      registryCallOptions(
        { image: 'ghcr.io/acme/web', interval: '1m' },
        ghcr,
        SHOP,
        credentials,
      ),
    ).toEqual({
      credentials: undefined,
      tls: undefined,
      credentialHosts: undefined,
      plainHttpCredentials: false,
      timeoutMs: 60_000,
    });
    expect(
      registryCredentialOptions(
        {},
        parseImageReference('acme.azurecr.io/shop/app'),
        SHOP,
        credentials,
      ).plainHttpCredentials,
    ).toBe(true);
  });

  it('refuses a credential not granted to the entity or not bound to the repository', () => {
    expect(() =>
      registryCallOptions(
        { image: 'x', interval: '5m', secretRef: { name: 'acme' } },
        ghcr,
        OTHER,
        credentials,
      ),
    ).toThrow(`credential 'acme' is not granted to ${OTHER}`);
    expect(() =>
      registryCallOptions(
        { image: 'x', interval: '5m', secretRef: { name: 'acme' } },
        parseImageReference('ghcr.io/evil/web'),
        SHOP,
        credentials,
      ),
    ).toThrow("credential 'acme' may not be sent to ghcr.io/evil/web");
    expect(() =>
      registryCallOptions(
        { image: 'x', interval: '5m', certSecretRef: { name: 'ca' } },
        parseImageReference('quay.io/acme/web'),
        SHOP,
        credentials,
      ),
    ).toThrow("credential 'ca' may not be sent to quay.io/acme/web");
    expect(() =>
      registryCallOptions(
        { image: 'x', interval: '5m', certSecretRef: { name: 'acme' } },
        ghcr,
        SHOP,
        credentials,
      ),
    ).toThrow("credential 'acme' is not of type tls");
  });

  it("takes Flux's timeout: spec.timeout, else the interval, at least one second", () => {
    const timeout = (spec: { interval: string; timeout?: string }) =>
      registryCallOptions(
        { image: 'ghcr.io/acme/web', ...spec },
        ghcr,
        SHOP,
        credentials,
      ).timeoutMs;
    expect(timeout({ interval: '5m', timeout: '30s' })).toBe(30_000);
    expect(timeout({ interval: '2m' })).toBe(120_000);
    expect(timeout({ interval: '5m', timeout: '100ms' })).toBe(1000);
    expect(timeout({ interval: '5m', timeout: '1001ms' })).toBe(1001);
  });
});

/** The backend's cloud identity with its token service replaced by a stand-in that records each call. */
class StandInCloudAuth extends CloudRegistryAuth {
  readonly calls: Array<{
    host: string;
    timeoutMs?: number;
    signal?: AbortSignal;
  }> = [];
  async credentials(
    registry: { host: string },
    options: { timeoutMs?: number; signal?: AbortSignal } = {},
  ) {
    this.calls.push({ host: registry.host, ...options });
    return {
      type: 'basic' as const,
      username: '00000000-0000-0000-0000-000000000000',
      password: 'cloud-token',
    };
  }
}

describe('cloudRegistryCallOptions', () => {
  const azure = parseImageReference('acme.azurecr.io/shop/app');
  const cloud = () =>
    new StandInCloudAuth(
      { azure: { allowedEntities: [SHOP], registries: ['acme.azurecr.io'] } },
      { allowedRegistries: ['*'] },
    );

  it("uses a token of the backend's identity, ignores secretRef, honours certSecretRef, never over plain HTTP", async () => {
    const auth = cloud();
    const signal = new AbortController().signal;
    // secretRef names a credential the entity may use: still ignored, as in Flux.
    const refs = { secretRef: { name: 'acme' }, certSecretRef: { name: 'ca' } };
    const options = await cloudRegistryCallOptions(
      'azure',
      refs,
      azure,
      SHOP,
      credentials,
      auth,
      { timeoutMs: 7000, signal },
    );
    expect(options).toEqual({
      credentials: {
        type: 'basic',
        username: '00000000-0000-0000-0000-000000000000',
        password: 'cloud-token',
      },
      tls: credentials.resolveTls('ca', SHOP, {
        kind: 'registry',
        host: 'acme.azurecr.io',
        repository: 'shop/app',
      }),
      credentialHosts: [],
      plainHttpCredentials: false,
      timeoutMs: 7000,
      signal,
    });
    expect(auth.calls).toEqual([
      { host: 'acme.azurecr.io', timeoutMs: 7000, signal },
    ]);
    const bare = await cloudRegistryCallOptions(
      'azure',
      {},
      azure,
      SHOP,
      credentials,
      auth,
      { timeoutMs: 7000 },
    );
    expect(bare.tls).toBeUndefined();
  });

  it('is refused before any token is asked for when the entity may not use the identity', async () => {
    const auth = cloud();
    await expect(
      cloudRegistryCallOptions('azure', {}, azure, OTHER, credentials, auth, {
        timeoutMs: 1000,
      }),
    ).rejects.toThrow(CloudIdentityRefusedError);
    await expect(
      cloudRegistryCallOptions(
        'azure',
        { certSecretRef: { name: 'ca' } },
        azure,
        OTHER,
        credentials,
        auth,
        { timeoutMs: 1000 },
      ),
    ).rejects.toThrow("the backend's azure identity is not granted");
    expect(auth.calls).toEqual([]);
  });

  it('NO_CLOUD_IDENTITY refuses every provider', () => {
    for (const provider of ['aws', 'gcp', 'azure'] as const) {
      expect(() => NO_CLOUD_IDENTITY.admit(provider, azure, SHOP)).toThrow(
        'is not configured',
      );
    }
  });
});
