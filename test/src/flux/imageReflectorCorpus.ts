/**
 * The scenario corpus run through the real image-reflector-controller and through our backend
 * (imageReflector.test.ts). Each scenario is data: the tags pushed to its own repository of the
 * test bed's registry, and the specs of one ImageRepository and (usually) one ImagePolicy, both
 * named `app` in a namespace named after the scenario.
 *
 * A scenario whose outputs differ lists the difference in `difference`: every differing field with
 * Flux's value and ours, and the reason, which docs/differences.md must also carry (under
 * "Compared with the real image-reflector-controller", naming the scenario id). The test asserts the difference
 * exactly, so a new, undocumented difference fails.
 */

/** Where a scenario's image lives. */
export type RegistryKind =
  /** The plain-HTTP registry without authentication. */
  | 'plain'
  /** The plain-HTTP registry with htpasswd Basic authentication. */
  | 'auth'
  /** 127.0.0.1 on a port nothing listens on. */
  | 'unreachable';

/** A difference between Flux's output and ours, field by field (paths as in `compare`). */
export interface DocumentedDifference {
  /** `path -> [flux, ours]` for every field that differs. */
  fields: Record<string, [unknown, unknown]>;
  /** Why (one sentence; the long form is in docs/differences.md). */
  reason: string;
}

export interface Scenario {
  id: string;
  title: string;
  registry?: RegistryKind;
  /** Tags pushed to `<registry>/corpus/<id>` (one manifest per scenario, so one digest). Default none (the repository does not exist). */
  tags?: string[];
  /** Overrides the image (default `<registry host>/corpus/<id>`); `{host}` is replaced by the registry host. */
  image?: string;
  /** ImageRepository spec fields besides `image` (`interval: 1h` and `insecure: true` are added). */
  repository?: Record<string, unknown>;
  /**
   * ImagePolicy spec besides `imageRepositoryRef` (which names `app`); absent: no policy.
   * `imageRepositoryRef` given here replaces the default.
   */
  policy?: Record<string, unknown>;
  /** `secretRef.name` of the ImageRepository: a Kubernetes Secret for Flux, a named credential in app-config for us. */
  secret?: 'valid' | 'wrong-password' | 'missing';
  /**
   * A second step once both sides settled: `tags` pushed (with `seed`, new content: a re-pushed tag
   * gets a new digest), `deleted` tags removed, then a reconcile requested on both objects (Flux's
   * `reconcile.fluxcd.io/requestedAt` annotation; our API's reconcile request), and both compared
   * again. The outcome then holds the first step's fields prefixed `before.` and the second's.
   */
  then?: { tags?: string[]; seed?: string; deleted?: string[] };
  difference?: DocumentedDifference;
}

const FLUX_UNREACHABLE =
  'scan failed: Get "https://{unreachable}/v2/": dial tcp {unreachable}: connect: connection refused; ' +
  'Get "http://{unreachable}/v2/": dial tcp {unreachable}: connect: connection refused';
const OUR_UNREACHABLE =
  'scan failed: GET http://{unreachable}/v2/corpus/error-unreachable/tags/list?n=1000: connect ECONNREFUSED {unreachable}';

/** A rescan that found the same tags: Flux's trace event, which Kubernetes records as Normal; we record none. */
const UNCHANGED_RESCAN: DocumentedDifference = {
  reason:
    'the "tags did not change, next scan in <interval>" trace event is not recorded (only Normal and Warning events are kept)',
  fields: {
    'repository.events': [
      [
        'Normal Succeeded: successful scan: found 1 tags with checksum 160432618',
        'Normal Succeeded: tags did not change, next scan in 1h0m0s',
      ],
      [
        'Normal Succeeded: successful scan: found 1 tags with checksum 160432618',
      ],
    ],
  },
};

const semverTags = [
  '0.9.0',
  '1.0.0',
  '1.0.1',
  '1.1.0',
  '1.2.3',
  '1.10.0',
  '2.0.0-rc.1',
  '2.0.0-alpha.2',
  'latest',
];

export const SCENARIOS: Scenario[] = [
  // --- semver ---------------------------------------------------------------------------------
  {
    id: 'semver-x-range',
    title: 'semver 1.x picks the highest 1.y.z',
    tags: semverTags,
    policy: { policy: { semver: { range: '1.x' } } },
  },
  {
    id: 'semver-caret',
    title: 'semver ^1.0.0',
    tags: semverTags,
    policy: { policy: { semver: { range: '^1.0.0' } } },
  },
  {
    id: 'semver-tilde',
    title: 'semver ~1.0',
    tags: semverTags,
    policy: { policy: { semver: { range: '~1.0' } } },
  },
  {
    id: 'semver-prerelease-admitted',
    title: 'semver >=2.0.0-0 admits prereleases',
    tags: semverTags,
    policy: { policy: { semver: { range: '>=2.0.0-0' } } },
  },
  {
    id: 'semver-prerelease-not-admitted',
    title: 'semver >=1.0.0 leaves prereleases out',
    tags: semverTags,
    policy: { policy: { semver: { range: '>=1.0.0' } } },
  },
  {
    id: 'semver-or',
    title: 'semver with an OR of ranges',
    tags: semverTags,
    policy: { policy: { semver: { range: '<1.0.0 || >=1.2.0 <1.3.0' } } },
  },
  {
    id: 'semver-v-prefix',
    title: 'semver over v-prefixed tags',
    tags: ['v1.0.0', 'v1.4.0', 'v1.3.9', 'v2.0.0-beta.1', 'v1.4.0-rc.1'],
    policy: { policy: { semver: { range: '>=1.0.0 <2.0.0' } } },
  },
  {
    id: 'semver-exact',
    title: 'semver range naming one version',
    tags: semverTags,
    policy: { policy: { semver: { range: '1.0.1' } } },
  },
  {
    id: 'semver-pattern-extract',
    title: 'semver on a version extracted by filterTags',
    tags: [
      'main-1.0.0',
      'main-1.3.0',
      'release-1.9.0',
      'main-1.2.7',
      'main-2.0.0-rc.1',
    ],
    policy: {
      filterTags: { pattern: '^main-(?P<version>.*)$', extract: '$version' },
      policy: { semver: { range: '1.x' } },
    },
  },
  {
    id: 'semver-no-match',
    title: 'semver range no tag satisfies',
    tags: semverTags,
    policy: { policy: { semver: { range: '>=9.0.0' } } },
  },
  {
    id: 'semver-invalid-range',
    title: 'invalid semver range',
    tags: semverTags,
    policy: { policy: { semver: { range: 'not a range' } } },
    difference: {
      reason:
        'image-reflector-controller v1.1.1 links Masterminds/semver v3.4.0, which prints the constraint unquoted; ' +
        'we follow v3.5.0 (quoted), the version the current controllers pin',
      fields: {
        'policy.conditions': [
          [
            {
              type: 'Ready',
              status: 'False',
              reason: 'InvalidPolicy',
              message: 'invalid policy: improper constraint: not a range',
            },
            {
              type: 'Stalled',
              status: 'True',
              reason: 'InvalidPolicy',
              message: 'invalid policy: improper constraint: not a range',
            },
          ],
          [
            {
              type: 'Ready',
              status: 'False',
              reason: 'InvalidPolicy',
              message: 'invalid policy: improper constraint: "not a range"',
            },
            {
              type: 'Stalled',
              status: 'True',
              reason: 'InvalidPolicy',
              message: 'invalid policy: improper constraint: "not a range"',
            },
          ],
        ],
        'policy.events': [
          [
            'Warning InvalidPolicy: invalid policy: improper constraint: not a range',
          ],
          [
            'Warning InvalidPolicy: invalid policy: improper constraint: "not a range"',
          ],
        ],
      },
    },
  },
  // --- alphabetical ---------------------------------------------------------------------------
  {
    id: 'alphabetical-asc',
    title: 'alphabetical, default order (asc): the last',
    tags: ['alpha', 'charlie', 'bravo', 'Zulu', 'delta-1'],
    policy: { policy: { alphabetical: {} } },
  },
  {
    id: 'alphabetical-desc',
    title: 'alphabetical desc: the first',
    tags: ['alpha', 'charlie', 'bravo', 'Zulu', 'delta-1'],
    policy: { policy: { alphabetical: { order: 'desc' } } },
  },
  {
    id: 'alphabetical-timestamp-extract',
    title: 'alphabetical on an extracted RFC 3339-like timestamp',
    tags: [
      'main-abc123-2024-05-01T10-00-00',
      'main-def456-2024-06-01T09-00-00',
      'dev-0000-2025-01-01T00-00-00',
      'main-aaa111-2024-05-30T23-59-59',
    ],
    policy: {
      filterTags: { pattern: '^main-[a-f0-9]+-(?P<ts>.*)$', extract: '$ts' },
      policy: { alphabetical: { order: 'asc' } },
    },
  },
  {
    id: 'alphabetical-pattern-only',
    title: 'alphabetical with a pattern and no extract',
    tags: ['feature-a', 'feature-c', 'feature-b', 'main-z'],
    policy: {
      filterTags: { pattern: '^feature-' },
      policy: { alphabetical: { order: 'asc' } },
    },
  },
  // --- numerical ------------------------------------------------------------------------------
  {
    id: 'numerical-asc-extract',
    title: 'numerical asc on an extracted build number',
    tags: ['build-9', 'build-10', 'build-100', 'build-99', 'other-1000'],
    policy: {
      filterTags: { pattern: '^build-(?P<n>[0-9]+)$', extract: '$n' },
      policy: { numerical: { order: 'asc' } },
    },
  },
  {
    id: 'numerical-desc-extract',
    title: 'numerical desc on an extracted build number',
    tags: ['build-9', 'build-10', 'build-100', 'build-99', 'other-1'],
    policy: {
      filterTags: { pattern: '^build-(?P<n>[0-9]+)$', extract: '$n' },
      policy: { numerical: { order: 'desc' } },
    },
  },
  {
    id: 'numerical-timestamp-ci',
    title: 'numerical on a CI tag <branch>-<sha>-<unix time>',
    tags: [
      'main-abc1234-1700000000',
      'main-def5678-1710000000',
      'main-0a0a0a0-1690000000',
      'pr-12-1800000000',
    ],
    policy: {
      filterTags: {
        pattern: '^main-[a-fA-F0-9]+-(?P<ts>[0-9]+)',
        extract: '$ts',
      },
      policy: { numerical: { order: 'asc' } },
    },
  },
  {
    id: 'numerical-floats',
    title: 'numerical over float tags',
    tags: ['1.5', '1.25', '10', '0.3', '2e3'],
    policy: { policy: { numerical: { order: 'asc' } } },
  },
  {
    id: 'numerical-not-a-number',
    title: 'numerical over a tag that is not a number',
    tags: ['1', '2', 'three'],
    policy: { policy: { numerical: {} } },
  },
  // --- filterTags errors ----------------------------------------------------------------------
  {
    id: 'filter-invalid-regex',
    title: 'filterTags.pattern that is not a valid Go regexp',
    tags: semverTags,
    policy: {
      filterTags: { pattern: '^main-(' },
      policy: { alphabetical: {} },
    },
  },
  {
    id: 'filter-no-tag-matches',
    title: 'filterTags.pattern no tag matches',
    tags: semverTags,
    policy: {
      filterTags: { pattern: '^nothing-' },
      policy: { alphabetical: {} },
    },
  },
  {
    id: 'filter-extract-missing-group',
    title: 'filterTags.extract naming a group the pattern does not have',
    tags: ['main-1', 'main-2'],
    policy: {
      filterTags: { pattern: '^main-(?P<n>[0-9]+)$', extract: '$missing' },
      policy: { numerical: {} },
    },
  },
  {
    id: 'filter-lookahead-unsupported',
    title: 'filterTags.pattern with Perl syntax Go lacks',
    tags: semverTags,
    policy: {
      filterTags: { pattern: '^(?!latest).*' },
      policy: { alphabetical: {} },
    },
  },
  // --- exclusion lists ------------------------------------------------------------------------
  {
    id: 'exclusion-default',
    title: 'default exclusion list drops signatures, attestations and SBOMs',
    tags: [
      '1.0.0',
      '1.1.0',
      'sha256-0123abcd.sig',
      'sha256-0123abcd.att',
      'sha256-0123abcd.sbom',
      '1.1.0.sig',
    ],
    policy: { policy: { semver: { range: '*' } } },
  },
  {
    id: 'exclusion-custom',
    title: 'a custom exclusion list replaces the default',
    tags: ['1.0.0', '1.1.0', '1.1.0-debug', 'sha256-0123abcd.sig', 'nightly'],
    repository: { exclusionList: ['-debug$', '^nightly$'] },
    policy: { policy: { alphabetical: {} } },
  },
  {
    id: 'exclusion-invalid-regex',
    title: 'an exclusion list entry that is not a valid Go regexp',
    tags: ['1.0.0'],
    repository: { exclusionList: ['^(unclosed'] },
  },
  {
    id: 'latest-tags-many',
    title: 'more than ten tags: latestTags holds the first ten in Flux order',
    tags: Array.from(
      { length: 25 },
      (_, i) => `v0.${i}.${(i * 7) % 10}`,
    ).concat(['latest', 'stable', 'Z', '0']),
    policy: { policy: { semver: { range: '>=0.0.0' } } },
  },
  // --- digest reflection ----------------------------------------------------------------------
  {
    id: 'digest-never',
    title: 'digestReflectionPolicy Never (the default) reflects no digest',
    tags: ['1.0.0', '1.1.0'],
    policy: {
      digestReflectionPolicy: 'Never',
      policy: { semver: { range: '1.x' } },
    },
  },
  {
    id: 'digest-if-not-present',
    title: 'digestReflectionPolicy IfNotPresent reflects the digest',
    tags: ['1.0.0', '1.1.0'],
    policy: {
      digestReflectionPolicy: 'IfNotPresent',
      policy: { semver: { range: '1.x' } },
    },
  },
  {
    id: 'digest-always',
    title: 'digestReflectionPolicy Always with an interval reflects the digest',
    tags: ['1.0.0', '1.1.0'],
    policy: {
      digestReflectionPolicy: 'Always',
      interval: '10m',
      policy: { semver: { range: '1.x' } },
    },
  },
  {
    id: 'digest-always-auth',
    title: 'digest reflection through an authenticated registry',
    registry: 'auth',
    secret: 'valid',
    tags: ['3.0.0', '3.1.0'],
    policy: {
      digestReflectionPolicy: 'IfNotPresent',
      policy: { semver: { range: '3.x' } },
    },
  },
  // --- cross-namespace references -------------------------------------------------------------
  {
    id: 'cross-namespace-no-acl',
    title:
      "a policy referring to another namespace's repository that has no accessFrom",
    tags: ['1.0.0'],
    policy: {
      imageRepositoryRef: { name: 'app', namespace: 'c-semver-x-range' },
      policy: { semver: { range: '*' } },
    },
    difference: {
      reason:
        "a namespace granted to the policy's entity (imageAutomation.tenancy) may be referred to without accessFrom; " +
        'Flux always needs accessFrom across namespaces',
      fields: {
        'policy.conditions': [
          [
            {
              type: 'Ready',
              status: 'False',
              reason: 'AccessDenied',
              message:
                "failed to get the referred ImageRepository: access denied: 'c-semver-x-range/app' can't be accessed due to missing ACL labels on 'accessFrom'",
            },
            {
              type: 'Reconciling',
              status: 'True',
              reason: 'ProgressingWithRetry',
              message: 'processing object: new generation -1 -> 1',
            },
          ],
          [
            {
              type: 'Ready',
              status: 'True',
              reason: 'Succeeded',
              message:
                'Latest image tag for {plain}/corpus/semver-x-range resolved to 1.10.0',
            },
          ],
        ],
        'policy.observedGeneration': [-1, 1],
        'policy.latestRef': [
          undefined,
          { name: '{plain}/corpus/semver-x-range', tag: '1.10.0' },
        ],
        'policy.events': [
          [
            "Warning AccessDenied: failed to get the referred ImageRepository: access denied: 'c-semver-x-range/app' can't be accessed due to missing ACL labels on 'accessFrom'",
          ],
          [
            'Normal Succeeded: Latest image tag for {plain}/corpus/semver-x-range resolved to 1.10.0',
          ],
        ],
      },
    },
  },
  {
    id: 'cross-namespace-acl-all',
    title:
      'a repository whose accessFrom admits every namespace (empty matchLabels)',
    tags: ['4.0.0', '4.1.0'],
    repository: { accessFrom: { namespaceSelectors: [{ matchLabels: {} }] } },
  },
  {
    id: 'cross-namespace-admitted',
    title: 'a policy referring to that repository from another namespace',
    tags: ['1.0.0'],
    policy: {
      imageRepositoryRef: {
        name: 'app',
        namespace: 'c-cross-namespace-acl-all',
      },
      policy: { semver: { range: '4.x' } },
    },
  },
  // --- authentication -------------------------------------------------------------------------
  {
    id: 'auth-basic',
    title: 'htpasswd registry with a credential',
    registry: 'auth',
    secret: 'valid',
    tags: ['1.0.0', '2.0.0'],
    policy: { policy: { semver: { range: '*' } } },
  },
  {
    id: 'auth-anonymous',
    title: 'htpasswd registry without a credential',
    registry: 'auth',
    tags: ['1.0.0'],
  },
  {
    id: 'auth-wrong-password',
    title: 'htpasswd registry with a wrong password',
    registry: 'auth',
    secret: 'wrong-password',
    tags: ['1.0.0'],
  },
  {
    id: 'auth-missing-secret',
    title: 'secretRef naming nothing',
    registry: 'auth',
    secret: 'missing',
    tags: ['1.0.0'],
    difference: {
      reason:
        '`secretRef.name` names a credential in app-config (imageAutomation.credentials), never a Kubernetes Secret',
      fields: {
        'repository.conditions': [
          [
            {
              type: 'Ready',
              status: 'False',
              reason: 'AuthenticationFailed',
              message:
                'failed to configure authentication options: secrets "no-such-secret" not found',
            },
            {
              type: 'Reconciling',
              status: 'True',
              reason: 'ProgressingWithRetry',
              message: 'processing object: new generation -1 -> 1',
            },
          ],
          [
            {
              type: 'Ready',
              status: 'False',
              reason: 'AuthenticationFailed',
              message:
                "failed to configure authentication options: credential 'no-such-secret' is not defined in imageAutomation.credentials",
            },
            {
              type: 'Reconciling',
              status: 'True',
              reason: 'ProgressingWithRetry',
              message: 'processing object: new generation -1 -> 1',
            },
          ],
        ],
        'repository.events': [
          [
            'Warning AuthenticationFailed: failed to configure authentication options: secrets "no-such-secret" not found',
          ],
          [
            "Warning AuthenticationFailed: failed to configure authentication options: credential 'no-such-secret' is not defined in imageAutomation.credentials",
          ],
        ],
      },
    },
  },
  // --- errors ---------------------------------------------------------------------------------
  {
    id: 'error-unreachable',
    title: 'a registry host nothing listens on',
    registry: 'unreachable',
    tags: [],
    policy: { policy: { semver: { range: '*' } } },
    difference: {
      reason:
        "a network error is Node's (the request that failed and the error code); go-containerregistry first pings /v2/ " +
        "over HTTPS and then HTTP, and reports Go's net errors for both",
      fields: {
        'repository.conditions': [
          [
            {
              type: 'Ready',
              status: 'False',
              reason: 'ReadOperationFailed',
              message: FLUX_UNREACHABLE,
            },
            {
              type: 'Reconciling',
              status: 'True',
              reason: 'ProgressingWithRetry',
              message: 'scanning: first scan',
            },
          ],
          [
            {
              type: 'Ready',
              status: 'False',
              reason: 'ReadOperationFailed',
              message: OUR_UNREACHABLE,
            },
            {
              type: 'Reconciling',
              status: 'True',
              reason: 'ProgressingWithRetry',
              message: 'scanning: first scan',
            },
          ],
        ],
        'repository.events': [
          [`Warning ReadOperationFailed: ${FLUX_UNREACHABLE}`],
          [`Warning ReadOperationFailed: ${OUR_UNREACHABLE}`],
        ],
      },
    },
  },
  {
    id: 'error-image-not-found',
    title: 'an image the registry does not have',
    tags: undefined,
    policy: { policy: { semver: { range: '*' } } },
  },
  {
    id: 'error-image-with-tag',
    title: 'spec.image with a tag',
    image: '{host}/corpus/error-image-with-tag:1.0.0',
    tags: ['1.0.0'],
  },
  {
    id: 'error-image-invalid',
    title: 'spec.image that is not a reference',
    image: '{host}/Corpus/UPPER case',
    tags: [],
  },
  {
    id: 'error-policy-missing-repository',
    title: 'an ImagePolicy whose ImageRepository does not exist',
    tags: ['1.0.0'],
    policy: {
      imageRepositoryRef: { name: 'nothing-here' },
      policy: { semver: { range: '*' } },
    },
  },
  // --- a second scan: observedPreviousRef and digests after a change ------------------------
  {
    id: 'previous-ref-semver',
    title:
      'a newer tag: latestRef moves and observedPreviousRef keeps the old one',
    tags: ['1.0.0'],
    policy: { policy: { semver: { range: '1.x' } } },
    then: { tags: ['1.1.0'] },
  },
  {
    id: 'previous-ref-with-digest',
    title:
      'a newer tag with digest reflection: observedPreviousRef keeps the old digest',
    tags: ['a-1'],
    policy: {
      digestReflectionPolicy: 'IfNotPresent',
      policy: { alphabetical: {} },
    },
    then: { tags: ['a-2'], seed: 'second' },
  },
  {
    id: 'previous-ref-tag-deleted',
    title: 'the selected tag deleted: the selection goes back',
    tags: ['1.0.0', '1.1.0'],
    policy: { policy: { semver: { range: '*' } } },
    then: { deleted: ['1.1.0'] },
  },
  {
    id: 'digest-always-repush',
    title: 'Always: a tag re-pushed with new content gets its new digest',
    tags: ['1.0.0'],
    policy: {
      digestReflectionPolicy: 'Always',
      interval: '10m',
      policy: { semver: { range: '*' } },
    },
    then: { tags: ['1.0.0'], seed: 'rebuilt' },
    difference: UNCHANGED_RESCAN,
  },
  {
    id: 'digest-if-not-present-repush',
    title:
      'IfNotPresent: a tag re-pushed with new content keeps the digest first seen',
    tags: ['1.0.0'],
    policy: {
      digestReflectionPolicy: 'IfNotPresent',
      policy: { semver: { range: '*' } },
    },
    then: { tags: ['1.0.0'], seed: 'rebuilt' },
    difference: UNCHANGED_RESCAN,
  },
  {
    id: 'exclusion-rescan',
    title: 'a rescan after new tags, some of them excluded',
    tags: ['1.0.0'],
    policy: { policy: { semver: { range: '*' } } },
    then: { tags: ['1.2.0', 'sha256-beef.sig', '2.0.0-rc.1'] },
  },
  {
    id: 'empty-repository-policy',
    title: 'a repository with no tags left after exclusion',
    tags: ['sha256-0123abcd.sig'],
    policy: { policy: { alphabetical: {} } },
  },
];
