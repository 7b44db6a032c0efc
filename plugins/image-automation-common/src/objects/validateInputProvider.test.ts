import { formatFieldErrors, validateAutomationObject } from './validate';

function rsip(spec: Record<string, unknown>) {
  return {
    apiVersion: 'fluxcd.controlplane.io/v1',
    kind: 'ResourceSetInputProvider',
    metadata: { name: 'p', namespace: 'apps' },
    spec,
  };
}

const errors = (spec: Record<string, unknown>) =>
  formatFieldErrors(
    'ResourceSetInputProvider',
    'p',
    validateAutomationObject(rsip(spec)),
  );

describe('ResourceSetInputProvider validation', () => {
  it('accepts the documented examples', () => {
    expect(
      validateAutomationObject(
        rsip({
          type: 'OCIArtifactTag',
          url: 'oci://ghcr.io/stefanprodan/charts/podinfo',
          secretRef: { name: 'ghcr' },
          insecure: false,
          defaultValues: {
            env: 'prod',
            replicas: 2,
            nested: { list: [1, 'a'] },
          },
          filter: {
            semver: '>=6.0.0',
            limit: 1,
            includeTag: '^6',
            excludeTag: 'rc',
          },
          schedule: [
            { cron: '0 9 * * 1-5', timeZone: 'Europe/Berlin', window: '2h' },
          ],
        }),
      ),
    ).toEqual([]);
    expect(
      validateAutomationObject(
        rsip({ type: 'Static', defaultValues: { team: 'a' } }),
      ),
    ).toEqual([]);
    expect(
      validateAutomationObject(
        rsip({
          type: 'GitHubPullRequest',
          url: 'https://github.com/acme/app',
          skip: { labels: ['!deploy'] },
        }),
      ),
    ).toEqual([]);
  });

  it('refuses unknown types, fields and wrong shapes with the API server words', () => {
    expect(errors({ type: 'BitbucketTag', url: 'https://x' })).toMatch(
      /^ResourceSetInputProvider "p" is invalid: spec.type: Unsupported value: "BitbucketTag": supported values: "Static", "GitHubBranch", /,
    );
    expect(errors({ type: 'Static', defaultValues: ['a'] })).toBe(
      'ResourceSetInputProvider "p" is invalid: spec.defaultValues: Invalid value: "array": spec.defaultValues in body must be of type object',
    );
    expect(
      errors({
        type: 'OCIArtifactTag',
        url: 'oci://ghcr.io/a/b',
        filter: { limit: 10001 },
      }),
    ).toBe(
      'ResourceSetInputProvider "p" is invalid: spec.filter.limit: Invalid value: 10001: spec.filter.limit in body should be less than or equal to 10000',
    );
    expect(
      errors({
        type: 'OCIArtifactTag',
        url: 'oci://ghcr.io/a/b',
        filter: { limit: '1' },
      }),
    ).toBe(
      'ResourceSetInputProvider "p" is invalid: spec.filter.limit: Invalid value: "string": spec.filter.limit in body must be of type integer',
    );
    expect(errors({ type: 'Static', schedule: [{ timeZone: 'UTC' }] })).toBe(
      'ResourceSetInputProvider "p" is invalid: spec.schedule[0].cron: Required value',
    );
    expect(
      errors({
        type: 'Static',
        schedule: [{ cron: '@daily', window: '1 hour' }],
      }),
    ).toMatch(
      /spec.schedule\[0\].window: Invalid value: "1 hour": spec.schedule\[0\].window in body should match/,
    );
    expect(errors({ type: 'Static', intervall: '1h' })).toBe(
      'ResourceSetInputProvider "p" is invalid: spec.intervall: unknown field',
    );
  });

  it('applies the CEL rules', () => {
    expect(errors({ type: 'Static', url: 'https://example.com' })).toBe(
      'ResourceSetInputProvider "p" is invalid: spec.url: spec.url must be empty when spec.type is \'Static\'',
    );
    expect(errors({ type: 'OCIArtifactTag' })).toBe(
      "ResourceSetInputProvider \"p\" is invalid: spec.url: spec.url must not be empty when spec.type is not 'Static' or 'ExternalArtifact'",
    );
    expect(errors({ type: 'GitHubTag', url: 'oci://ghcr.io/a/b' })).toBe(
      "ResourceSetInputProvider \"p\" is invalid: spec.url: spec.url must start with 'http://' or 'https://' when spec.type is a Git provider",
    );
    expect(errors({ type: 'OCIArtifactTag', url: 'oci://ghcr.io' })).toMatch(
      /spec.url must start with 'oci:\/\/' and name a repository/,
    );
    expect(
      errors({ type: 'OCIArtifactTag', url: 'https://ghcr.io/a/b' }),
    ).toMatch(/spec.url must start with 'oci:\/\/'/);
    expect(
      errors({
        type: 'AWSCodeCommitBranch',
        url: 'http://git-codecommit.eu-west-1.amazonaws.com/v1/repos/app',
      }),
    ).toMatch(
      /must start with 'https:\/\/' when spec.type is an AWS CodeCommit provider/,
    );
    expect(
      errors({ type: 'ExternalService', url: 'http://inputs.example.com' }),
    ).toMatch(/spec.url must use 'https:\/\/' unless spec.insecure is true/);
    expect(
      validateAutomationObject(
        rsip({
          type: 'ExternalService',
          url: 'http://inputs.example.com',
          insecure: true,
        }),
      ),
    ).toEqual([]);
    expect(
      errors({
        type: 'GitHubBranch',
        url: 'https://github.com/a/b',
        insecure: true,
      }),
    ).toMatch(
      /spec.insecure can only be set when spec.type is 'ExternalService' or 'OCIArtifactTag'/,
    );
    expect(
      errors({
        type: 'ACRArtifactTag',
        url: 'oci://a.azurecr.io/b',
        secretRef: { name: 'x' },
      }),
    ).toMatch(
      /cannot specify spec.secretRef when spec.type is one of Static, ACRArtifactTag/,
    );
    expect(
      errors({
        type: 'GitHubBranch',
        url: 'https://github.com/a/b',
        serviceAccountName: 'sa',
      }),
    ).toMatch(/cannot specify spec.serviceAccountName/);
    expect(
      errors({
        type: 'GitHubBranch',
        url: 'https://github.com/a/b',
        selectors: [{ name: 'x' }],
      }),
    ).toMatch(
      /spec.selectors can only be set when spec.type is 'ExternalArtifact'/,
    );
    expect(
      errors({
        type: 'ExternalArtifact',
        selectors: [{ name: 'x', matchLabels: { a: 'b' } }],
      }),
    ).toMatch(
      /spec.selectors\[0\]: name and matchLabels\/matchExpressions are mutually exclusive/,
    );
  });
});
