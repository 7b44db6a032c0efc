/** A cloud identity an ImageRepository (`spec.provider`) or an `*ArtifactTag` input provider names. @internal */
export type CloudProvider = 'aws' | 'gcp' | 'azure';

/** The cloud providers, in the order the docs list them. @internal */
export const CLOUD_PROVIDERS: readonly CloudProvider[] = [
  'aws',
  'gcp',
  'azure',
];

/** The ResourceSetInputProvider types that list tags with a cloud identity, and theirs. @internal */
export const ARTIFACT_TAG_PROVIDERS: Readonly<Record<string, CloudProvider>> = {
  ECRArtifactTag: 'aws',
  GARArtifactTag: 'gcp',
  ACRArtifactTag: 'azure',
};

/** Whether `value` is one of {@link CLOUD_PROVIDERS}. @internal */
export function isCloudProvider(value: unknown): value is CloudProvider {
  return (
    typeof value === 'string' &&
    (CLOUD_PROVIDERS as readonly string[]).includes(value)
  );
}

// The registry hosts each provider's authenticator accepts, as Flux's (fluxcd/pkg auth/{aws,gcp,azure})
// do; matched against the host name (a port, which real cloud registries never have, is not part of it).
const ECR =
  /^(\d{12})\.dkr[.-]ecr(-fips)?\.([a-z0-9-]+)\.(amazonaws\.com(\.cn)?|sc2s\.sgov\.gov|c2s\.ic\.gov|cloud\.adc-e\.uk|csp\.hci\.ic\.gov)$/;
const GCP =
  /^(((.+\.)?gcr\.io)|(.+-docker\.pkg\.dev)|(docker\.s3nsregistry\.fr))$/;
const AZURE = /^.+\.(azurecr\.io|azurecr\.cn|azurecr\.de|azurecr\.us)$/;

const EXPECTED: Record<CloudProvider, string> = {
  aws: 'Amazon ECR: <account>.dkr.ecr[-fips].<region>.amazonaws.com[.cn]',
  gcp: 'Google Artifact Registry or Container Registry: gcr.io, <region>.gcr.io, <location>-docker.pkg.dev',
  azure:
    'Azure Container Registry: <name>.azurecr.io, .azurecr.cn, .azurecr.de or .azurecr.us',
};

/** What a registry host of a provider tells about it. @internal */
export type CloudRegistry =
  | { provider: 'aws'; host: string; account: string; region: string }
  | { provider: 'gcp'; host: string }
  | { provider: 'azure'; host: string; suffix: string };

function hostName(registry: string): string {
  return registry.toLowerCase().replace(/:\d+$/, '');
}

/**
 * The registry `registry` (`host[:port]`) as `provider` knows it, or an error message (for a
 * condition) saying that the provider's identity is not for that host.
 * @internal
 */
export function matchCloudRegistry(
  provider: CloudProvider,
  registry: string,
): { ok: true; registry: CloudRegistry } | { ok: false; message: string } {
  const host = hostName(registry);
  const mismatch = (extra = '') => ({
    ok: false as const,
    message: `registry host '${registry}' is not a registry of provider '${provider}' (${EXPECTED[provider]})${extra}; use provider 'generic' with a secretRef naming a credential for other registries`,
  });
  switch (provider) {
    case 'aws': {
      if (host === 'public.ecr.aws') {
        return mismatch(
          ': the public ECR gallery is read anonymously, without a cloud identity',
        );
      }
      const m = ECR.exec(host);
      return m
        ? {
            ok: true,
            registry: { provider, host: registry, account: m[1], region: m[3] },
          }
        : mismatch();
    }
    case 'gcp':
      return GCP.test(host)
        ? { ok: true, registry: { provider, host: registry } }
        : mismatch();
    case 'azure': {
      const m = AZURE.exec(host);
      return m
        ? { ok: true, registry: { provider, host: registry, suffix: m[1] } }
        : mismatch();
    }
    default:
      return mismatch();
  }
}
