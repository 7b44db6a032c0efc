import {
  AutomationObject,
  validateAutomationObject,
} from '@imageops/backstage-plugin-image-automation-common';
import {
  CONVERSION_DROPPED_ANNOTATION,
  CONVERTED_FROM_ANNOTATION,
  conversionMessage,
  convertManifest,
  ignoredFieldsMessage,
  unsupportedApiVersionMessage,
  unsupportedFields,
} from './fluxCompatibility';
import { parseManifests } from './parseManifests';

const object = (
  apiVersion: string,
  kind: string,
  spec: Record<string, unknown>,
  annotations?: Record<string, string>,
): AutomationObject => ({
  apiVersion,
  kind,
  metadata: {
    name: 'x',
    namespace: 'apps',
    ...(annotations ? { annotations } : {}),
  },
  spec,
});

// The automation of Flux's image update guide, as written for image.toolkit.fluxcd.io/v1beta2.
const GUIDE_V1BETA2 = `
apiVersion: image.toolkit.fluxcd.io/v1beta2
kind: ImageRepository
metadata: { name: podinfo, namespace: flux-system }
spec:
  image: ghcr.io/stefanprodan/podinfo
  interval: 5m
---
apiVersion: image.toolkit.fluxcd.io/v1beta2
kind: ImagePolicy
metadata: { name: podinfo, namespace: flux-system }
spec:
  imageRepositoryRef: { name: podinfo }
  policy:
    semver: { range: 5.0.x }
---
apiVersion: image.toolkit.fluxcd.io/v1beta2
kind: ImageUpdateAutomation
metadata: { name: flux-system, namespace: flux-system }
spec:
  interval: 30m
  sourceRef: { kind: GitRepository, name: flux-system }
  git:
    checkout: { ref: { branch: main } }
    commit:
      author: { email: fluxcdbot@users.noreply.github.com, name: fluxcdbot }
      messageTemplate: '{{range .Changed.Changes}}{{print .OldValue}} -> {{println .NewValue}}{{end}}'
    push: { branch: main }
  update:
    path: ./clusters/my-cluster
    strategy: Setters
---
apiVersion: source.toolkit.fluxcd.io/v1beta2
kind: GitRepository
metadata: { name: flux-system, namespace: flux-system }
spec:
  interval: 1m
  url: https://github.com/acme/fleet
  ref: { branch: main }
  gitImplementation: go-git
`;

describe('converting older Flux apiVersions', () => {
  it('converts the v1beta2 image kinds and GitRepository of the Flux guide to v1 objects that validate as v1', () => {
    const objects = parseManifests(GUIDE_V1BETA2, 'file:///guide.yaml');
    expect(objects.map(o => `${o.apiVersion} ${o.kind}`)).toEqual([
      'image.toolkit.fluxcd.io/v1 ImageRepository',
      'image.toolkit.fluxcd.io/v1 ImagePolicy',
      'image.toolkit.fluxcd.io/v1 ImageUpdateAutomation',
      'source.toolkit.fluxcd.io/v1 GitRepository',
    ]);
    for (const o of objects) expect(validateAutomationObject(o)).toEqual([]);
    expect(objects.map(o => o.metadata.annotations)).toEqual([
      { [CONVERTED_FROM_ANNOTATION]: 'image.toolkit.fluxcd.io/v1beta2' },
      { [CONVERTED_FROM_ANNOTATION]: 'image.toolkit.fluxcd.io/v1beta2' },
      { [CONVERTED_FROM_ANNOTATION]: 'image.toolkit.fluxcd.io/v1beta2' },
      {
        [CONVERTED_FROM_ANNOTATION]: 'source.toolkit.fluxcd.io/v1beta2',
        [CONVERSION_DROPPED_ANNOTATION]: 'spec.gitImplementation',
      },
    ]);
    // Field for field: the image kinds' specs are the same in v1beta2 and v1.
    expect(objects[2].spec).toEqual({
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
        },
        push: { branch: 'main' },
      },
      update: { path: './clusters/my-cluster', strategy: 'Setters' },
    });
    expect(objects[3].spec).toEqual({
      interval: '1m',
      url: 'https://github.com/acme/fleet',
      ref: { branch: 'main' },
    });
  });

  it('says what was converted and dropped, exactly', () => {
    const [repo, , , git] = parseManifests(GUIDE_V1BETA2, 'file:///guide.yaml');
    expect(conversionMessage(repo)).toBe(
      'converted from image.toolkit.fluxcd.io/v1beta2 to v1; update apiVersion to image.toolkit.fluxcd.io/v1',
    );
    expect(conversionMessage(git)).toBe(
      'converted from source.toolkit.fluxcd.io/v1beta2 to v1; update apiVersion to source.toolkit.fluxcd.io/v1; ' +
        'dropped spec.gitImplementation (deprecated in v1beta2 and without effect; removed in v1)',
    );
    const both = convertManifest(
      object('source.toolkit.fluxcd.io/v1beta2', 'GitRepository', {
        url: 'https://example.com/r',
        interval: '1m',
        gitImplementation: 'libgit2',
        accessFrom: { namespaceSelectors: [{ matchLabels: {} }] },
      }),
    );
    expect(both.spec).toEqual({ url: 'https://example.com/r', interval: '1m' });
    expect(conversionMessage(both)).toBe(
      'converted from source.toolkit.fluxcd.io/v1beta2 to v1; update apiVersion to source.toolkit.fluxcd.io/v1; ' +
        'dropped spec.gitImplementation (deprecated in v1beta2 and without effect; removed in v1), ' +
        'spec.accessFrom (never implemented by Flux for GitRepository; removed in v1)',
    );
  });

  it('leaves v1, other versions and other kinds alone, and never modifies its input', () => {
    const v1 = object('image.toolkit.fluxcd.io/v1', 'ImagePolicy', {
      policy: {},
    });
    expect(convertManifest(v1)).toBe(v1);
    expect(conversionMessage(v1)).toBeUndefined();
    expect(
      conversionMessage({
        ...v1,
        metadata: {
          ...v1.metadata,
          annotations: { [CONVERTED_FROM_ANNOTATION]: 'example.com/v0' },
        },
      }),
    ).toBeUndefined();
    const beta1 = object('image.toolkit.fluxcd.io/v1beta1', 'ImagePolicy', {
      policy: {},
    });
    expect(convertManifest(beta1)).toBe(beta1);
    const other = object(
      'image.toolkit.fluxcd.io/v1beta2',
      'ImageSomething',
      {},
    );
    expect(convertManifest(other)).toBe(other);
    const input = object(
      'source.toolkit.fluxcd.io/v1beta2',
      'GitRepository',
      { gitImplementation: 'go-git' },
      { team: 'a' },
    );
    const copy = JSON.parse(JSON.stringify(input));
    const converted = convertManifest(input);
    expect(input).toEqual(copy);
    expect(converted.metadata.annotations).toEqual({
      team: 'a',
      [CONVERTED_FROM_ANNOTATION]: 'source.toolkit.fluxcd.io/v1beta2',
      [CONVERSION_DROPPED_ANNOTATION]: 'spec.gitImplementation',
    });
    // Nothing dropped: no (stale) dropped annotation, even one written by hand.
    const clean = convertManifest(
      object(
        'image.toolkit.fluxcd.io/v1beta2',
        'ImageRepository',
        {},
        { [CONVERSION_DROPPED_ANNOTATION]: 'spec.x' },
      ),
    );
    expect(clean.metadata.annotations).toEqual({
      [CONVERTED_FROM_ANNOTATION]: 'image.toolkit.fluxcd.io/v1beta2',
    });
  });
});

describe('refusing apiVersions Flux no longer serves', () => {
  it('names the apiVersion and every v1alpha1 ImageUpdateAutomation field that moved', () => {
    const manifest = object(
      'image.toolkit.fluxcd.io/v1alpha1',
      'ImageUpdateAutomation',
      {
        checkout: { gitRepositoryRef: { name: 'flux-system' }, branch: 'main' },
        interval: '1m',
        update: { strategy: 'Setters' },
        commit: {
          authorName: 'fluxbot',
          authorEmail: 'fluxbot@example.com',
          messageTemplate: '{{range .Updated.Images}}{{println .}}{{end}}',
        },
        push: { branch: 'auto' },
      },
    );
    expect(unsupportedApiVersionMessage(manifest)).toBe(
      'ImageUpdateAutomation image.toolkit.fluxcd.io/v1alpha1 is not supported (Flux no longer serves v1alpha1): ' +
        'set apiVersion: image.toolkit.fluxcd.io/v1; ' +
        'move spec.checkout.gitRepositoryRef.name to spec.sourceRef.name, with spec.sourceRef.kind: GitRepository; ' +
        'move spec.checkout.branch to spec.git.checkout.ref.branch; ' +
        'move spec.commit.authorName to spec.git.commit.author.name; ' +
        'move spec.commit.authorEmail to spec.git.commit.author.email; ' +
        'move spec.commit.messageTemplate to spec.git.commit.messageTemplate and replace .Updated (.Updated.Files, .Updated.Objects, .Updated.Images) with .Changed (.Changed.FileChanges, .Changed.Objects, .Changed.Changes); ' +
        'move spec.push.branch to spec.git.push.branch',
    );
  });

  it('names the v1beta1 template change only when the template uses .Updated', () => {
    const spec = (messageTemplate?: string) => ({
      sourceRef: { kind: 'GitRepository', name: 'flux-system' },
      interval: '1m',
      git: {
        commit: {
          author: { email: 'a@b' },
          ...(messageTemplate ? { messageTemplate } : {}),
        },
      },
    });
    expect(
      unsupportedApiVersionMessage(
        object(
          'image.toolkit.fluxcd.io/v1beta1',
          'ImageUpdateAutomation',
          spec('{{ .Updated.Files }}'),
        ),
      ),
    ).toBe(
      'ImageUpdateAutomation image.toolkit.fluxcd.io/v1beta1 is not supported (Flux no longer serves v1beta1): ' +
        'set apiVersion: image.toolkit.fluxcd.io/v1; ' +
        'in spec.git.commit.messageTemplate replace .Updated (.Updated.Files, .Updated.Objects, .Updated.Images) with .Changed (.Changed.FileChanges, .Changed.Objects, .Changed.Changes)',
    );
    expect(
      unsupportedApiVersionMessage(
        object(
          'image.toolkit.fluxcd.io/v1beta1',
          'ImageUpdateAutomation',
          spec(),
        ),
      ),
    ).toBe(
      'ImageUpdateAutomation image.toolkit.fluxcd.io/v1beta1 is not supported (Flux no longer serves v1beta1): ' +
        'set apiVersion: image.toolkit.fluxcd.io/v1; the rest of the spec carries over unchanged',
    );
  });

  it('refuses v1alpha1/v1beta1 ImageRepository and ImagePolicy and old GitRepositories, naming the fields to remove', () => {
    expect(
      unsupportedApiVersionMessage(
        object('image.toolkit.fluxcd.io/v1beta1', 'ImagePolicy', {}),
      ),
    ).toBe(
      'ImagePolicy image.toolkit.fluxcd.io/v1beta1 is not supported (Flux no longer serves v1beta1): ' +
        'set apiVersion: image.toolkit.fluxcd.io/v1; the rest of the spec carries over unchanged',
    );
    expect(
      unsupportedApiVersionMessage(
        object('image.toolkit.fluxcd.io/v1alpha1', 'ImageRepository', {}),
      ),
    ).toBe(
      'ImageRepository image.toolkit.fluxcd.io/v1alpha1 is not supported (Flux no longer serves v1alpha1): ' +
        'set apiVersion: image.toolkit.fluxcd.io/v1; the rest of the spec carries over unchanged',
    );
    expect(
      unsupportedApiVersionMessage(
        object('source.toolkit.fluxcd.io/v1beta1', 'GitRepository', {
          gitImplementation: 'go-git',
          accessFrom: {},
        }),
      ),
    ).toBe(
      'GitRepository source.toolkit.fluxcd.io/v1beta1 is not supported (Flux no longer serves v1beta1): ' +
        'set apiVersion: source.toolkit.fluxcd.io/v1; ' +
        'remove spec.gitImplementation (deprecated in v1beta2 and without effect; removed in v1); ' +
        'remove spec.accessFrom (never implemented by Flux for GitRepository; removed in v1)',
    );
    expect(
      unsupportedApiVersionMessage(
        object('fluxcd.controlplane.io/v1beta1', 'ResourceSet', {}),
      ),
    ).toBe(
      'ResourceSet fluxcd.controlplane.io/v1beta1 is not supported (Flux no longer serves v1beta1): ' +
        'set apiVersion: fluxcd.controlplane.io/v1; the rest of the spec carries over unchanged',
    );
  });

  it('says nothing for current or converted versions, unknown kinds and other groups', () => {
    expect(
      unsupportedApiVersionMessage(
        object('image.toolkit.fluxcd.io/v1', 'ImagePolicy', {}),
      ),
    ).toBeUndefined();
    expect(
      unsupportedApiVersionMessage(
        object('image.toolkit.fluxcd.io/v1beta2', 'ImagePolicy', {}),
      ),
    ).toBeUndefined();
    expect(
      unsupportedApiVersionMessage(
        object('source.toolkit.fluxcd.io/v1beta2', 'GitRepository', {}),
      ),
    ).toBeUndefined();
    expect(
      unsupportedApiVersionMessage(
        object('image.toolkit.fluxcd.io/v1beta1', 'ImageThing', {}),
      ),
    ).toBeUndefined();
    expect(
      unsupportedApiVersionMessage(object('example.com/v1', 'ImagePolicy', {})),
    ).toBeUndefined();
    expect(
      unsupportedApiVersionMessage(
        object('source.toolkit.fluxcd.io/v1', 'Bucket', {}),
      ),
    ).toBeUndefined();
  });
});

describe('fields accepted but not implemented', () => {
  const repo = (spec: Record<string, unknown>) =>
    object('image.toolkit.fluxcd.io/v1', 'ImageRepository', {
      image: 'a/b',
      interval: '1m',
      ...spec,
    });
  const git = (spec: Record<string, unknown>) =>
    object('source.toolkit.fluxcd.io/v1', 'GitRepository', {
      url: 'https://example.com/r',
      interval: '1m',
      ...spec,
    });

  it('refuses ImageRepository proxySecretRef and serviceAccountName', () => {
    expect(
      unsupportedFields(repo({ proxySecretRef: { name: 'proxy' } })),
    ).toEqual({
      blocking: {
        field: 'spec.proxySecretRef',
        reason: 'FieldNotSupported',
        message:
          'spec.proxySecretRef is not supported: registry calls cannot go through a per-object proxy here; remove spec.proxySecretRef if they may go directly',
      },
      ignored: [],
    });
    expect(
      unsupportedFields(repo({ serviceAccountName: 'puller' })).blocking,
    ).toEqual({
      field: 'spec.serviceAccountName',
      reason: 'FieldNotSupported',
      message:
        'spec.serviceAccountName is not supported: Kubernetes service accounts (their imagePullSecrets or workload identity) are not available to this backend; remove it and set spec.secretRef to a credential (imageAutomation.credentials)',
    });
    expect(
      unsupportedFields(
        repo({
          secretRef: { name: 'c' },
          certSecretRef: { name: 't' },
          insecure: true,
          provider: 'generic',
        }),
      ),
    ).toEqual({
      ignored: [],
    });
  });

  it('refuses GitRepository provider, verify, proxySecretRef and serviceAccountName; verify not for an automation source', () => {
    expect(unsupportedFields(git({ provider: 'azure' })).blocking).toEqual({
      field: 'spec.provider',
      reason: 'ProviderNotSupported',
      message:
        "provider 'azure' is not supported yet: use provider 'generic' with a secretRef naming a credential",
    });
    expect(
      unsupportedFields(git({ provider: 'generic' })).blocking,
    ).toBeUndefined();
    const verify = git({
      verify: { mode: 'HEAD', secretRef: { name: 'keys' } },
    });
    expect(unsupportedFields(verify).blocking).toEqual({
      field: 'spec.verify',
      reason: 'FieldNotSupported',
      message:
        'spec.verify is not supported: commit and tag signatures are not verified here, so an unverified revision would be reported and used; remove spec.verify only if you accept that',
    });
    // Flux's image automation does not verify its clone either.
    expect(
      unsupportedFields(verify, { asAutomationSource: true }).blocking,
    ).toBeUndefined();
    expect(
      unsupportedFields(
        git({ verify: { mode: 'HEAD' }, proxySecretRef: { name: 'p' } }),
        { asAutomationSource: true },
      ).blocking,
    ).toEqual({
      field: 'spec.proxySecretRef',
      reason: 'FieldNotSupported',
      message:
        'spec.proxySecretRef is not supported: Git operations cannot go through a per-object proxy here; remove spec.proxySecretRef if they may go directly',
    });
    expect(
      unsupportedFields(git({ serviceAccountName: 'sa' })).blocking?.field,
    ).toBe('spec.serviceAccountName');
  });

  it('reports GitRepository ignore, include, sparseCheckout and recurseSubmodules as without effect, only when set', () => {
    expect(
      unsupportedFields(
        git({
          ignore: '/*\n!/deploy',
          include: [{ repository: { name: 'other' } }],
          sparseCheckout: ['deploy'],
          recurseSubmodules: true,
        }),
      ),
    ).toEqual({
      ignored: [
        'spec.ignore',
        'spec.include',
        'spec.sparseCheckout',
        'spec.recurseSubmodules',
      ],
    });
    expect(
      unsupportedFields(
        git({ include: [], sparseCheckout: [], recurseSubmodules: false }),
      ),
    ).toEqual({ ignored: [] });
    expect(ignoredFieldsMessage(['spec.include'])).toBe(
      "spec.include has no effect here: it shapes the source-controller's artifact, which this plugin does not build (Flux's image automation clones the repository without it too)",
    );
    expect(
      ignoredFieldsMessage(['spec.ignore', 'spec.recurseSubmodules']),
    ).toBe(
      "spec.ignore, spec.recurseSubmodules have no effect here: they shape the source-controller's artifact, which this plugin does not build (Flux's image automation clones the repository without them too)",
    );
  });

  it('refuses serviceAccountName on an OCIArtifactTag input provider, and nothing of the other kinds', () => {
    const rsip = (spec: Record<string, unknown>) =>
      object('fluxcd.controlplane.io/v1', 'ResourceSetInputProvider', spec);
    expect(
      unsupportedFields(
        rsip({
          type: 'OCIArtifactTag',
          url: 'oci://r/x',
          serviceAccountName: 'sa',
        }),
      ).blocking?.field,
    ).toBe('spec.serviceAccountName');
    // The cloud types use the backend's own identity (imageAutomation.cloudIdentity), never the object's.
    expect(
      unsupportedFields(
        rsip({
          type: 'ACRArtifactTag',
          url: 'oci://r/x',
          serviceAccountName: 'sa',
        }),
      ).blocking,
    ).toEqual({
      field: 'spec.serviceAccountName',
      reason: 'FieldNotSupported',
      message:
        "spec.serviceAccountName is not supported: Kubernetes service accounts (their imagePullSecrets or workload identity) are not available to this backend; remove it to use the backend's own cloud identity (imageAutomation.cloudIdentity)",
    });
    expect(
      unsupportedFields(rsip({ type: 'ACRArtifactTag', url: 'oci://r/x' })),
    ).toEqual({ ignored: [] });
    expect(
      unsupportedFields(repo({ provider: 'aws', serviceAccountName: 'sa' }))
        .blocking?.message,
    ).toBe(
      "spec.serviceAccountName is not supported: Kubernetes service accounts (their imagePullSecrets or workload identity) are not available to this backend; remove it to use the backend's own aws identity (imageAutomation.cloudIdentity.aws)",
    );
    expect(
      unsupportedFields(
        object('fluxcd.controlplane.io/v1', 'ResourceSet', {
          serviceAccountName: 'deployer',
        }),
      ),
    ).toEqual({ ignored: [] });
    expect(
      unsupportedFields(
        object('image.toolkit.fluxcd.io/v1', 'ImagePolicy', {
          digestReflectionPolicy: 'Always',
        }),
      ),
    ).toEqual({ ignored: [] });
  });
});
