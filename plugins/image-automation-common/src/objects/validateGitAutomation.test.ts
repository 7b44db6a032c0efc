import { validateAutomationObject } from './validate';

const automation = (spec: Record<string, unknown>) => ({
  apiVersion: 'image.toolkit.fluxcd.io/v1',
  kind: 'ImageUpdateAutomation',
  metadata: { name: 'auto', namespace: 'flux-system' },
  spec,
});

const gitRepository = (spec: Record<string, unknown>) => ({
  apiVersion: 'source.toolkit.fluxcd.io/v1',
  kind: 'GitRepository',
  metadata: { name: 'repo', namespace: 'flux-system' },
  spec,
});

describe('ImageUpdateAutomation and GitRepository validation', () => {
  it("accepts the manifests of Flux's guide", () => {
    expect(
      validateAutomationObject(
        automation({
          interval: '30m',
          sourceRef: { kind: 'GitRepository', name: 'flux-system' },
          git: {
            checkout: { ref: { branch: 'main' } },
            commit: {
              author: {
                email: 'fluxcdbot@users.noreply.github.com',
                name: 'fluxcdbot',
              },
              messageTemplate:
                '{{range .Changed.Changes}}{{print .OldValue}} -> {{println .NewValue}}{{end}}',
              signingKey: { secretRef: { name: 'signing' }, type: 'ssh' },
            },
            push: {
              branch: 'main',
              refspec: 'refs/heads/main:refs/for/main',
              options: { 'merge_request.create': '' },
            },
          },
          update: { path: './clusters/my-cluster', strategy: 'Setters' },
          policySelector: { matchLabels: { app: 'podinfo' } },
        }),
      ),
    ).toEqual([]);
    expect(
      validateAutomationObject(
        gitRepository({
          url: 'https://github.com/acme/fleet',
          interval: '1m',
          ref: { branch: 'main' },
          secretRef: { name: 'git' },
          timeout: '60s',
        }),
      ),
    ).toEqual([]);
  });

  it("reports Flux's schema errors", () => {
    expect(
      validateAutomationObject(
        automation({
          interval: '30 minutes',
          sourceRef: { kind: 'OCIRepository', name: 'x' },
          git: { commit: { author: { name: 'bot' } }, push: { brnch: 'main' } },
          update: { strategy: 'Regex' },
        }),
      ),
    ).toEqual([
      {
        field: 'spec.sourceRef.kind',
        message:
          'Unsupported value: "OCIRepository": supported values: "GitRepository"',
      },
      { field: 'spec.git.commit.author.email', message: 'Required value' },
      { field: 'spec.git.push.brnch', message: 'unknown field' },
      {
        field: 'spec.interval',
        message:
          'Invalid value: "30 minutes": spec.interval in body should match \'^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$\'',
      },
      {
        field: 'spec.update.strategy',
        message: 'Unsupported value: "Regex": supported values: "Setters"',
      },
    ]);
    expect(
      validateAutomationObject(
        gitRepository({
          url: 'git@github.com:acme/fleet.git',
          interval: '1m',
          timeout: '1h',
        }),
      ),
    ).toEqual([
      {
        field: 'spec.url',
        message:
          'Invalid value: "git@github.com:acme/fleet.git": spec.url in body should match \'^(http|https|ssh)://.*$\'',
      },
      {
        field: 'spec.timeout',
        message:
          'Invalid value: "1h": spec.timeout in body should match \'^([0-9]+(\\.[0-9]+)?(ms|s|m))+$\'',
      },
    ]);
    // v1's provider enum (aws came with source-controller v1): aws is valid; it is refused later as ProviderNotSupported.
    expect(
      validateAutomationObject(
        gitRepository({
          url: 'https://example.com/r',
          interval: '1m',
          provider: 'aws',
        }),
      ),
    ).toEqual([]);
    expect(
      validateAutomationObject(
        gitRepository({
          url: 'https://example.com/r',
          interval: '1m',
          provider: 'gitlab',
        }),
      ),
    ).toEqual([
      {
        field: 'spec.provider',
        message:
          'Unsupported value: "gitlab": supported values: "generic", "aws", "azure", "github"',
      },
    ]);
  });
});
