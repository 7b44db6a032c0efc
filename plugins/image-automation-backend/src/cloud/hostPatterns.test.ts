import { parseImageReference } from '../registry';
import { listingScope } from '../registry/sharedListings';
import { CloudRegistryAuth } from './CloudRegistryAuth';
import { matchCloudRegistry } from './hostPatterns';

describe('matchCloudRegistry: the registry hosts Flux accepts per provider', () => {
  it.each([
    [
      'aws',
      '123456789012.dkr.ecr.us-east-1.amazonaws.com',
      { account: '123456789012', region: 'us-east-1' },
    ],
    [
      'aws',
      '123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com',
      { region: 'us-gov-west-1' },
    ],
    [
      'aws',
      '123456789012.dkr-ecr.eu-west-1.amazonaws.com',
      { region: 'eu-west-1' },
    ],
    [
      'aws',
      '123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn',
      { region: 'cn-north-1' },
    ],
    [
      'aws',
      '123456789012.dkr.ecr.us-east-1.amazonaws.com:443',
      { region: 'us-east-1' },
    ],
    ['gcp', 'gcr.io', {}],
    ['gcp', 'eu.gcr.io', {}],
    ['gcp', 'europe-west1-docker.pkg.dev', {}],
    ['gcp', 'docker.s3nsregistry.fr', {}],
    ['azure', 'acme.azurecr.io', { suffix: 'azurecr.io' }],
    ['azure', 'acme.azurecr.cn', { suffix: 'azurecr.cn' }],
    ['azure', 'acme.azurecr.de', { suffix: 'azurecr.de' }],
    ['azure', 'acme.azurecr.us', { suffix: 'azurecr.us' }],
  ] as const)('%s accepts %s', (provider, host, details) => {
    const matched = matchCloudRegistry(provider, host);
    expect(matched).toMatchObject({
      ok: true,
      registry: { provider, host, ...details },
    });
  });

  it.each([
    ['aws', 'ghcr.io'],
    ['aws', '123456789012.dkr.ecr.us-east-1.amazonaws.com.evil.example'],
    ['aws', 'evil.example/123456789012.dkr.ecr.us-east-1.amazonaws.com'],
    ['aws', '12345.dkr.ecr.us-east-1.amazonaws.com'],
    ['aws', 'public.ecr.aws'],
    ['gcp', 'gcr.io.evil.example'],
    ['gcp', 'docker.pkg.dev'],
    ['gcp', 'acme.azurecr.io'],
    ['azure', 'azurecr.io'],
    ['azure', 'acme.azurecr.io.evil.example'],
    ['azure', 'europe-docker.pkg.dev'],
  ] as const)(
    '%s refuses %s with a message naming the host and what the provider expects',
    (provider, host) => {
      const matched = matchCloudRegistry(provider, host);
      expect(matched.ok).toBe(false);
      expect(!matched.ok && matched.message).toMatch(
        new RegExp(
          `^registry host '${host.replace(
            /[.]/g,
            '\\.',
          )}' is not a registry of provider '${provider}' \\(`,
        ),
      );
    },
  );
});

describe('CloudRegistryAuth.admit fails closed', () => {
  const ref = parseImageReference('acme.azurecr.io/shop/app');
  const admit =
    (
      settings: ConstructorParameters<typeof CloudRegistryAuth>[0],
      allowedRegistries = ['*'],
      entity = 'component:default/shop',
    ) =>
    () =>
      new CloudRegistryAuth(settings, { allowedRegistries }).admit(
        'azure',
        ref,
        entity,
      );

  it('refuses without allowedEntities, without registries, outside allowedRegistries, and for objects without an entity', () => {
    expect(admit({ azure: { registries: ['*.azurecr.io'] } })).toThrow(
      "the backend's azure identity is not granted to component:default/shop (imageAutomation.cloudIdentity.azure.allowedEntities)",
    );
    expect(
      admit({
        azure: { allowedEntities: ['component:default/shop'], registries: [] },
      }),
    ).toThrow(
      'registry host acme.azurecr.io is not in imageAutomation.cloudIdentity.azure.registries',
    );
    expect(
      admit(
        {
          azure: {
            allowedEntities: ['component:default/shop'],
            registries: ['*.azurecr.io'],
          },
        },
        [],
      ),
    ).toThrow(
      'registry host acme.azurecr.io is not in imageAutomation.allowedRegistries',
    );
    expect(() =>
      new CloudRegistryAuth(
        {
          azure: {
            allowedEntities: ['component:default/shop'],
            registries: ['*'],
          },
        },
        { allowedRegistries: ['*'] },
      ).admit('azure', ref, undefined),
    ).toThrow('not granted to objects without an entity');
    // Entity refs are compared case-insensitively, as for named credentials.
    expect(
      new CloudRegistryAuth(
        {
          azure: {
            allowedEntities: ['component:default/shop'],
            registries: ['acme.azurecr.io'],
          },
        },
        { allowedRegistries: ['*'] },
      ).admit('azure', ref, 'Component:default/Shop'),
    ).toMatchObject({ provider: 'azure', host: 'acme.azurecr.io' });
  });

  it('refuses a cloud registry addressed over plain HTTP (spec.insecure): tokens only go over HTTPS', () => {
    const insecure = parseImageReference('acme.azurecr.io/shop/app', {
      insecure: true,
    });
    expect(() =>
      new CloudRegistryAuth(
        {
          azure: {
            allowedEntities: ['component:default/shop'],
            registries: ['*'],
          },
        },
        { allowedRegistries: ['*'] },
      ).admit('azure', insecure, 'component:default/shop'),
    ).toThrow('cloud registry tokens are only sent over HTTPS');
  });
});

describe('listingScope with a cloud provider', () => {
  const ref = parseImageReference(
    '123456789012.dkr.ecr.us-east-1.amazonaws.com/shop/app',
  );
  it('never shares a cloud-authenticated listing with anonymous, named-credential or other-provider objects', () => {
    const aws = listingScope(
      { provider: 'aws', secretRef: { name: 'x' } },
      ref,
    );
    expect(aws).toBe(listingScope({ provider: 'aws' }, ref));
    expect(
      new Set([
        aws,
        listingScope({}, ref),
        listingScope({ provider: 'generic' }, ref),
        listingScope({ secretRef: { name: 'x' } }, ref),
        listingScope({ provider: 'azure' }, ref),
      ]).size,
    ).toBe(4);
    // `generic` is the same as no provider.
    expect(
      listingScope({ provider: 'generic', secretRef: { name: 'x' } }, ref),
    ).toBe(listingScope({ secretRef: { name: 'x' } }, ref));
  });
});
