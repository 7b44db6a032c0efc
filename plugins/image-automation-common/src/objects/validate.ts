import {
  FLUX_OPERATOR_API_VERSION,
  IMAGE_API_VERSION,
  NOTIFICATION_API_VERSION,
  NOTIFICATION_PROVIDER_TYPES,
  RECEIVER_API_VERSION,
  RECEIVER_TYPES,
  RESOURCE_SET_INPUT_PROVIDER_TYPES,
  SOURCE_API_VERSION,
} from './types';

/**
 * One problem found in a manifest, with the path of the field (`spec.interval`) and a
 * message in the Kubernetes API server's words.
 * @public
 */
export interface FieldError {
  field: string;
  message: string;
}

type Rule =
  | {
      type: 'string';
      required?: boolean;
      pattern?: RegExp;
      enum?: string[];
      maxLength?: number;
    }
  | { type: 'boolean' }
  | { type: 'integer'; minimum?: number; maximum?: number }
  /** Any JSON object (`apiextensionsv1.JSON` maps such as `defaultValues`). */
  | { type: 'jsonMap' }
  | { type: 'stringArray'; maxItems?: number }
  | { type: 'stringMap' }
  | {
      type: 'object';
      required?: boolean;
      fields: Record<string, Rule>;
      open?: boolean;
    }
  | { type: 'array'; items: Rule; required?: boolean };

const goDuration = /^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$/;
const goDurationNoHours = /^([0-9]+(\.[0-9]+)?(ms|s|m))+$/;
const localRef: Rule = {
  type: 'object',
  fields: { name: { type: 'string', required: true } },
};

const imageRepositorySpec: Rule = {
  type: 'object',
  required: true,
  fields: {
    image: { type: 'string', required: true },
    interval: { type: 'string', required: true, pattern: goDuration },
    timeout: { type: 'string', pattern: goDurationNoHours },
    secretRef: localRef,
    proxySecretRef: localRef,
    certSecretRef: localRef,
    serviceAccountName: { type: 'string', maxLength: 253 },
    suspend: { type: 'boolean' },
    accessFrom: {
      type: 'object',
      fields: {
        namespaceSelectors: {
          type: 'array',
          items: {
            type: 'object',
            fields: { matchLabels: { type: 'stringMap' } },
          },
        },
      },
    },
    exclusionList: { type: 'stringArray', maxItems: 25 },
    provider: { type: 'string', enum: ['generic', 'aws', 'azure', 'gcp'] },
    insecure: { type: 'boolean' },
  },
};

const order: Rule = { type: 'string', enum: ['asc', 'desc'] };

const imagePolicySpec: Rule = {
  type: 'object',
  required: true,
  fields: {
    imageRepositoryRef: {
      type: 'object',
      required: true,
      fields: {
        name: { type: 'string', required: true },
        namespace: { type: 'string' },
      },
    },
    policy: {
      type: 'object',
      required: true,
      fields: {
        semver: {
          type: 'object',
          fields: { range: { type: 'string', required: true } },
        },
        alphabetical: { type: 'object', fields: { order } },
        numerical: { type: 'object', fields: { order } },
      },
    },
    filterTags: {
      type: 'object',
      fields: { pattern: { type: 'string' }, extract: { type: 'string' } },
    },
    digestReflectionPolicy: {
      type: 'string',
      enum: ['Always', 'IfNotPresent', 'Never'],
    },
    interval: { type: 'string', pattern: goDuration },
    suspend: { type: 'boolean' },
  },
};

const gitRef: Rule = {
  type: 'object',
  fields: {
    branch: { type: 'string' },
    tag: { type: 'string' },
    semver: { type: 'string' },
    name: { type: 'string' },
    commit: { type: 'string' },
  },
};

const gitRepositorySpec: Rule = {
  type: 'object',
  required: true,
  fields: {
    url: {
      type: 'string',
      required: true,
      pattern: /^(http|https|ssh):\/\/.*$/,
    },
    ref: gitRef,
    secretRef: localRef,
    provider: { type: 'string', enum: ['generic', 'aws', 'azure', 'github'] },
    serviceAccountName: { type: 'string' },
    interval: { type: 'string', required: true, pattern: goDuration },
    timeout: { type: 'string', pattern: goDurationNoHours },
    ignore: { type: 'string' },
    suspend: { type: 'boolean' },
    recurseSubmodules: { type: 'boolean' },
    proxySecretRef: localRef,
    sparseCheckout: { type: 'stringArray' },
    include: {
      type: 'array',
      items: {
        type: 'object',
        fields: {
          repository: { ...localRef, required: true },
          fromPath: { type: 'string' },
          toPath: { type: 'string' },
        },
      },
    },
    verify: {
      type: 'object',
      fields: {
        mode: { type: 'string', enum: ['head', 'HEAD', 'Tag', 'TagAndHEAD'] },
        secretRef: localRef,
      },
    },
  },
};

const imageUpdateAutomationSpec: Rule = {
  type: 'object',
  required: true,
  fields: {
    sourceRef: {
      type: 'object',
      required: true,
      fields: {
        apiVersion: { type: 'string' },
        kind: { type: 'string', enum: ['GitRepository'] },
        name: { type: 'string', required: true },
        namespace: { type: 'string' },
      },
    },
    git: {
      type: 'object',
      fields: {
        checkout: {
          type: 'object',
          fields: { ref: { ...gitRef, required: true } },
        },
        commit: {
          type: 'object',
          required: true,
          fields: {
            author: {
              type: 'object',
              required: true,
              fields: {
                name: { type: 'string' },
                email: { type: 'string', required: true },
              },
            },
            signingKey: {
              type: 'object',
              fields: {
                secretRef: localRef,
                type: { type: 'string', enum: ['gpg', 'ssh'] },
              },
            },
            messageTemplate: { type: 'string' },
            messageTemplateValues: { type: 'stringMap' },
          },
        },
        push: {
          type: 'object',
          fields: {
            branch: { type: 'string' },
            refspec: { type: 'string' },
            options: { type: 'stringMap' },
          },
        },
      },
    },
    interval: { type: 'string', required: true, pattern: goDuration },
    policySelector: {
      type: 'object',
      fields: {
        matchLabels: { type: 'stringMap' },
        matchExpressions: {
          type: 'array',
          items: {
            type: 'object',
            fields: {
              key: { type: 'string', required: true },
              operator: { type: 'string', required: true },
              values: { type: 'stringArray' },
            },
          },
        },
      },
    },
    update: {
      type: 'object',
      fields: {
        strategy: { type: 'string', enum: ['Setters'] },
        path: { type: 'string' },
      },
    },
    suspend: { type: 'boolean' },
  },
};

const labelSelectorRequirements: Rule = {
  type: 'array',
  items: {
    type: 'object',
    fields: {
      key: { type: 'string', required: true },
      operator: { type: 'string', required: true },
      values: { type: 'stringArray' },
    },
  },
};

const resourceSetInputProviderSpec: Rule = {
  type: 'object',
  required: true,
  fields: {
    type: {
      type: 'string',
      required: true,
      enum: [...RESOURCE_SET_INPUT_PROVIDER_TYPES],
    },
    url: { type: 'string', pattern: /^((http|https|oci):\/\/.*){0,1}$/ },
    serviceAccountName: { type: 'string' },
    secretRef: localRef,
    certSecretRef: localRef,
    insecure: { type: 'boolean' },
    defaultValues: { type: 'jsonMap' },
    filter: {
      type: 'object',
      fields: {
        includeBranch: { type: 'string' },
        excludeBranch: { type: 'string' },
        includeTag: { type: 'string' },
        excludeTag: { type: 'string' },
        includeEnvironment: { type: 'string' },
        excludeEnvironment: { type: 'string' },
        labels: { type: 'stringArray' },
        limit: { type: 'integer', maximum: 10000 },
        semver: { type: 'string' },
      },
    },
    skip: { type: 'object', fields: { labels: { type: 'stringArray' } } },
    schedule: {
      type: 'array',
      items: {
        type: 'object',
        fields: {
          cron: { type: 'string', required: true },
          timeZone: { type: 'string' },
          window: {
            type: 'string',
            pattern: /^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$/,
          },
        },
      },
    },
    selectors: {
      type: 'array',
      items: {
        type: 'object',
        fields: {
          matchLabels: { type: 'stringMap' },
          matchExpressions: labelSelectorRequirements,
          name: { type: 'string' },
          namespace: { type: 'string' },
        },
      },
    },
  },
};

const dependsOnRef: Rule = {
  type: 'object',
  fields: {
    apiVersion: { type: 'string', required: true },
    kind: { type: 'string', required: true },
    name: { type: 'string', required: true },
    namespace: { type: 'string' },
    ready: { type: 'boolean' },
    readyExpr: { type: 'string' },
  },
};

const jsonMaps: Rule = { type: 'array', items: { type: 'jsonMap' } };

const resourceSetSpec: Rule = {
  type: 'object',
  fields: {
    inputs: jsonMaps,
    inputsFrom: {
      type: 'array',
      items: {
        type: 'object',
        fields: {
          apiVersion: { type: 'string', enum: [FLUX_OPERATOR_API_VERSION] },
          kind: { type: 'string', enum: ['ResourceSetInputProvider'] },
          name: { type: 'string' },
          selector: {
            type: 'object',
            fields: {
              matchLabels: { type: 'stringMap' },
              matchExpressions: labelSelectorRequirements,
            },
          },
        },
      },
    },
    inputStrategy: {
      type: 'object',
      fields: {
        name: { type: 'string', enum: ['Flatten', 'Permute'] },
        includeEmptyProviders: { type: 'boolean' },
      },
    },
    resources: jsonMaps,
    resourcesTemplate: { type: 'string' },
    steps: {
      type: 'array',
      items: {
        type: 'object',
        fields: {
          name: { type: 'string', required: true, maxLength: 63 },
          resources: jsonMaps,
          resourcesTemplate: { type: 'string' },
          timeout: { type: 'string', pattern: goDuration },
        },
      },
    },
    dependsOn: { type: 'array', items: dependsOnRef },
    serviceAccountName: { type: 'string' },
    wait: { type: 'boolean' },
    commonMetadata: {
      type: 'object',
      fields: {
        labels: { type: 'stringMap' },
        annotations: { type: 'stringMap' },
      },
    },
  },
};

/** The Flux kinds a Receiver's `resources` (and, with ResourceSet, an Alert's `eventSources`) may name. */
const RECEIVER_RESOURCE_KINDS = [
  'Bucket',
  'GitRepository',
  'Kustomization',
  'HelmRelease',
  'HelmChart',
  'HelmRepository',
  'ImageRepository',
  'ImagePolicy',
  'ImageUpdateAutomation',
  'OCIRepository',
  'ResourceSetInputProvider',
];

/** A cross-namespace object reference of notification-controller's CRDs: kind, name, namespace, labels. */
function objectReference(kinds: string[]): Rule {
  return {
    type: 'object',
    fields: {
      apiVersion: { type: 'string' },
      kind: { type: 'string', required: true, enum: kinds },
      name: { type: 'string', required: true, maxLength: 53 },
      namespace: { type: 'string', maxLength: 53 },
      matchLabels: { type: 'stringMap' },
    },
  };
}

/** Flux's Receiver (notification-controller v1.5.0 CRD), plus the `distribution` type. */
const receiverSpec: Rule = {
  type: 'object',
  required: true,
  fields: {
    type: { type: 'string', required: true, enum: [...RECEIVER_TYPES] },
    interval: { type: 'string', pattern: goDuration },
    events: { type: 'stringArray' },
    resources: {
      type: 'array',
      items: objectReference(RECEIVER_RESOURCE_KINDS),
    },
    resourceFilter: { type: 'string' },
    secretRef: { ...localRef, required: true } as Rule,
    suspend: { type: 'boolean' },
  },
};

/** Flux's Provider (notification-controller v1.5.0, v1beta3 CRD). */
const notificationProviderSpec: Rule = {
  type: 'object',
  required: true,
  fields: {
    type: {
      type: 'string',
      required: true,
      enum: [...NOTIFICATION_PROVIDER_TYPES],
    },
    interval: { type: 'string', pattern: goDuration },
    channel: { type: 'string', maxLength: 2048 },
    username: { type: 'string', maxLength: 2048 },
    address: { type: 'string', maxLength: 2048 },
    timeout: { type: 'string', pattern: goDurationNoHours },
    proxy: {
      type: 'string',
      pattern: /^(http|https):\/\/.*$/,
      maxLength: 2048,
    },
    secretRef: localRef,
    certSecretRef: localRef,
    suspend: { type: 'boolean' },
  },
};

/**
 * Flux's Alert (v1beta3 CRD). `eventSources[].kind` also admits the kinds this plugin reconciles
 * that Flux's enum lacks (ResourceSet, ResourceSetInputProvider), as the Gitless guide's Alert needs.
 */
const alertSpec: Rule = {
  type: 'object',
  required: true,
  fields: {
    providerRef: { ...localRef, required: true },
    eventSeverity: { type: 'string', enum: ['info', 'error'] },
    eventSources: {
      type: 'array',
      required: true,
      items: objectReference([...RECEIVER_RESOURCE_KINDS, 'ResourceSet']),
    },
    inclusionList: { type: 'stringArray' },
    exclusionList: { type: 'stringArray' },
    eventMetadata: { type: 'stringMap' },
    summary: { type: 'string', maxLength: 255 },
    suspend: { type: 'boolean' },
  },
};

/** The kinds this version reconciles, by apiVersion and kind. */
const specRules: Record<string, Record<string, Rule>> = {
  [NOTIFICATION_API_VERSION]: {
    Provider: notificationProviderSpec,
    Alert: alertSpec,
  },
  [IMAGE_API_VERSION]: {
    ImageRepository: imageRepositorySpec,
    ImagePolicy: imagePolicySpec,
    ImageUpdateAutomation: imageUpdateAutomationSpec,
  },
  [SOURCE_API_VERSION]: {
    GitRepository: gitRepositorySpec,
  },
  [FLUX_OPERATOR_API_VERSION]: {
    ResourceSetInputProvider: resourceSetInputProviderSpec,
    ResourceSet: resourceSetSpec,
  },
  [RECEIVER_API_VERSION]: {
    Receiver: receiverSpec,
  },
};

/** Whether objects of this apiVersion and kind are reconciled by this version. @public */
export function isSupportedKind(apiVersion: string, kind: string): boolean {
  return Boolean(specRules[apiVersion]?.[kind]);
}

const dns1123Subdomain =
  /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const dns1123Label = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

function quote(value: unknown): string {
  return JSON.stringify(value);
}

function check(rule: Rule, value: unknown, path: string, errors: FieldError[]) {
  const required = 'required' in rule && rule.required;
  if (value === undefined || value === null) {
    if (required) errors.push({ field: path, message: 'Required value' });
    return;
  }
  const wrongType = (expected: string) =>
    errors.push({
      field: path,
      message: `Invalid value: "${typeOf(
        value,
      )}": ${path} in body must be of type ${expected}`,
    });
  switch (rule.type) {
    case 'string': {
      if (typeof value !== 'string') {
        wrongType('string');
        return;
      }
      if (required && value === '') {
        errors.push({ field: path, message: 'Required value' });
      } else if (rule.enum && !rule.enum.includes(value)) {
        errors.push({
          field: path,
          message: `Unsupported value: ${quote(
            value,
          )}: supported values: ${rule.enum.map(quote).join(', ')}`,
        });
      } else if (rule.pattern && !rule.pattern.test(value)) {
        errors.push({
          field: path,
          // RegExp#source escapes '/', which the CRD's pattern does not.
          message: `Invalid value: ${quote(
            value,
          )}: ${path} in body should match '${rule.pattern.source.replace(
            /\\\//g,
            '/',
          )}'`,
        });
      } else if (
        rule.maxLength !== undefined &&
        value.length > rule.maxLength
      ) {
        errors.push({
          field: path,
          message: `Too long: may not be more than ${rule.maxLength} bytes`,
        });
      }
      return;
    }
    case 'boolean':
      if (typeof value !== 'boolean') wrongType('boolean');
      return;
    case 'integer':
      if (typeof value !== 'number' || !Number.isInteger(value)) {
        wrongType('integer');
        return;
      }
      if (rule.maximum !== undefined && value > rule.maximum) {
        errors.push({
          field: path,
          message: `Invalid value: ${value}: ${path} in body should be less than or equal to ${rule.maximum}`,
        });
      } else if (rule.minimum !== undefined && value < rule.minimum) {
        errors.push({
          field: path,
          message: `Invalid value: ${value}: ${path} in body should be greater than or equal to ${rule.minimum}`,
        });
      }
      return;
    case 'jsonMap':
      if (typeOf(value) !== 'object') wrongType('object');
      return;
    case 'stringArray':
      if (!Array.isArray(value)) {
        wrongType('array');
        return;
      }
      if (rule.maxItems !== undefined && value.length > rule.maxItems) {
        errors.push({
          field: path,
          message: `Too many: ${value.length}: must have at most ${rule.maxItems} items`,
        });
      }
      value.forEach((item, i) =>
        check({ type: 'string' }, item, `${path}[${i}]`, errors),
      );
      return;
    case 'stringMap':
      if (typeOf(value) !== 'object') {
        wrongType('object');
        return;
      }
      for (const [key, item] of Object.entries(value as object)) {
        check({ type: 'string' }, item, `${path}.${key}`, errors);
      }
      return;
    case 'array':
      if (!Array.isArray(value)) {
        wrongType('array');
        return;
      }
      value.forEach((item, i) =>
        check(rule.items, item, `${path}[${i}]`, errors),
      );
      return;
    case 'object': {
      if (typeOf(value) !== 'object') {
        wrongType('object');
        return;
      }
      const record = value as Record<string, unknown>;
      for (const [name, fieldRule] of Object.entries(rule.fields)) {
        check(fieldRule, record[name], `${path}.${name}`, errors);
      }
      if (!rule.open) {
        for (const name of Object.keys(record)) {
          if (!(name in rule.fields)) {
            errors.push({ field: `${path}.${name}`, message: 'unknown field' });
          }
        }
      }
      return;
    }
    default:
      return;
  }
}

/** Flux's cross-field (CEL) rules, with Flux's messages. */
function crossFieldRules(
  kind: string,
  spec: Record<string, any>,
  errors: FieldError[],
) {
  if (kind === 'ImagePolicy') {
    const always = spec.digestReflectionPolicy === 'Always';
    if (spec.interval !== undefined && !always) {
      errors.push({
        field: 'spec.interval',
        message:
          "spec.interval is only accepted when spec.digestReflectionPolicy is set to 'Always'",
      });
    }
    if (spec.interval === undefined && always) {
      errors.push({
        field: 'spec.interval',
        message:
          "spec.interval must be set when spec.digestReflectionPolicy is set to 'Always'",
      });
    }
  }
  if (kind === 'ResourceSetInputProvider') inputProviderRules(spec, errors);
  if (kind === 'ResourceSet') resourceSetRules(spec ?? {}, errors);
}

/** The Flux Operator's CEL rules for ResourceSet (in its CRD), with its messages where it has them. */
function resourceSetRules(spec: Record<string, any>, errors: FieldError[]) {
  const add = (field: string, message: string) =>
    errors.push({ field, message });
  const steps: Array<Record<string, any>> = Array.isArray(spec.steps)
    ? spec.steps
    : [];
  if (spec.steps !== undefined && (steps.length < 1 || steps.length > 20)) {
    add(
      'spec.steps',
      `Invalid value: ${steps.length}: spec.steps must have between 1 and 20 items`,
    );
  }
  if (
    steps.length > 0 &&
    ((spec.resources?.length ?? 0) > 0 || spec.resourcesTemplate)
  ) {
    add(
      'spec.steps',
      'spec.steps is mutually exclusive with spec.resources and spec.resourcesTemplate',
    );
  }
  const seen = new Set<string>();
  steps.forEach((step, i) => {
    if (!dns1123Label.test(step.name)) {
      add(
        `spec.steps[${i}].name`,
        `Invalid value: ${quote(
          step.name,
        )}: step name must be a lowercase RFC 1123 label`,
      );
    }
    if (seen.has(step.name))
      add(`spec.steps[${i}].name`, `Duplicate value: ${quote(step.name)}`);
    seen.add(step.name);
    if ((step.resources?.length ?? 0) === 0 && !step.resourcesTemplate) {
      add(
        `spec.steps[${i}]`,
        `step "${step.name}": at least one of resources or resourcesTemplate must be set`,
      );
    }
  });
  (Array.isArray(spec.inputsFrom) ? spec.inputsFrom : []).forEach(
    (ref: Record<string, unknown>, i: number) => {
      if ((ref.name === undefined) === (ref.selector === undefined)) {
        add(
          `spec.inputsFrom[${i}]`,
          'exactly one of name or selector must be set',
        );
      }
    },
  );
}

/** The Flux Operator's CEL rules for ResourceSetInputProvider, with its messages. */
function inputProviderRules(spec: Record<string, any>, errors: FieldError[]) {
  const type = String(spec.type);
  const url = typeof spec.url === 'string' ? spec.url : '';
  const add = (field: string, message: string) =>
    errors.push({ field, message });
  const withoutUrl = type === 'Static' || type === 'ExternalArtifact';
  const ociType = type.endsWith('ArtifactTag');
  const gitType =
    type.startsWith('Git') ||
    type.startsWith('AzureDevOps') ||
    type.startsWith('AWSCodeCommit');
  if (withoutUrl && url)
    add('spec.url', `spec.url must be empty when spec.type is '${type}'`);
  if (!withoutUrl && !url) {
    add(
      'spec.url',
      "spec.url must not be empty when spec.type is not 'Static' or 'ExternalArtifact'",
    );
  } else if (gitType && !url.startsWith('http')) {
    add(
      'spec.url',
      "spec.url must start with 'http://' or 'https://' when spec.type is a Git provider",
    );
  } else if (type.startsWith('AWSCodeCommit') && !url.startsWith('https://')) {
    add(
      'spec.url',
      "spec.url must start with 'https://' when spec.type is an AWS CodeCommit provider",
    );
  } else if (ociType && !/^oci:\/\/[^/]+\/./.test(url)) {
    add(
      'spec.url',
      "spec.url must start with 'oci://' and name a repository (oci://host/repository) when spec.type is an OCI provider",
    );
  } else if (type === 'ExternalService' && !url.startsWith('http')) {
    add(
      'spec.url',
      "spec.url must start with 'http://' or 'https://' when spec.type is 'ExternalService'",
    );
  } else if (
    type === 'ExternalService' &&
    url.startsWith('http://') &&
    spec.insecure !== true
  ) {
    add(
      'spec.url',
      "spec.url must use 'https://' unless spec.insecure is true",
    );
  }
  if (
    spec.insecure === true &&
    type !== 'ExternalService' &&
    type !== 'OCIArtifactTag'
  ) {
    add(
      'spec.insecure',
      "spec.insecure can only be set when spec.type is 'ExternalService' or 'OCIArtifactTag'",
    );
  }
  if (
    spec.serviceAccountName !== undefined &&
    !(
      type.startsWith('AzureDevOps') ||
      type.startsWith('AWSCodeCommit') ||
      ociType ||
      type === 'ExternalArtifact'
    )
  ) {
    add(
      'spec.serviceAccountName',
      'cannot specify spec.serviceAccountName when spec.type is not one of AzureDevOps*, AWSCodeCommit*, *ArtifactTag or ExternalArtifact',
    );
  }
  const cloudArtifact = ociType && type !== 'OCIArtifactTag';
  if (
    spec.certSecretRef !== undefined &&
    (type.startsWith('AzureDevOps') || cloudArtifact)
  ) {
    add(
      'spec.certSecretRef',
      'cannot specify spec.certSecretRef when spec.type is one of Static, AzureDevOps*, ACRArtifactTag, ECRArtifactTag or GARArtifactTag',
    );
  }
  if (spec.secretRef !== undefined && cloudArtifact) {
    add(
      'spec.secretRef',
      'cannot specify spec.secretRef when spec.type is one of Static, ACRArtifactTag, ECRArtifactTag or GARArtifactTag',
    );
  }
  if (spec.selectors !== undefined && type !== 'ExternalArtifact') {
    add(
      'spec.selectors',
      "spec.selectors can only be set when spec.type is 'ExternalArtifact'",
    );
  }
  (Array.isArray(spec.selectors) ? spec.selectors : []).forEach(
    (selector: Record<string, unknown>, i: number) => {
      if (
        selector?.name !== undefined &&
        (selector.matchLabels !== undefined ||
          selector.matchExpressions !== undefined)
      ) {
        add(
          `spec.selectors[${i}]`,
          'name and matchLabels/matchExpressions are mutually exclusive',
        );
      }
    },
  );
}

/**
 * Validates one automation object as the Kubernetes API server would with Flux's CRDs:
 * schema (types, required fields, enums, patterns, unknown fields) and the CEL rules.
 * Returns every problem found; an empty list means the object is valid.
 * @public
 */
export function validateAutomationObject(doc: unknown): FieldError[] {
  const errors: FieldError[] = [];
  if (typeOf(doc) !== 'object') {
    return [
      { field: '', message: 'a manifest document must be a YAML mapping' },
    ];
  }
  const object = doc as Record<string, any>;
  check(
    { type: 'string', required: true },
    object.apiVersion,
    'apiVersion',
    errors,
  );
  check({ type: 'string', required: true }, object.kind, 'kind', errors);
  check(
    {
      type: 'object',
      required: true,
      open: true,
      fields: {
        name: { type: 'string', required: true, maxLength: 253 },
        namespace: { type: 'string', maxLength: 63 },
        labels: { type: 'stringMap' },
        annotations: { type: 'stringMap' },
      },
    },
    object.metadata,
    'metadata',
    errors,
  );
  const name = object.metadata?.name;
  if (typeof name === 'string' && name && !dns1123Subdomain.test(name)) {
    errors.push({
      field: 'metadata.name',
      message: `Invalid value: ${quote(
        name,
      )}: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character`,
    });
  }
  const namespace = object.metadata?.namespace;
  if (typeof namespace === 'string' && !dns1123Label.test(namespace)) {
    errors.push({
      field: 'metadata.namespace',
      message: `Invalid value: ${quote(
        namespace,
      )}: a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character`,
    });
  }
  if (errors.length > 0) return errors;

  const rule = specRules[object.apiVersion]?.[object.kind];
  if (!rule) {
    return [
      {
        field: 'kind',
        message: `no kind "${object.kind}" is registered for version "${object.apiVersion}"`,
      },
    ];
  }
  check(rule, object.spec, 'spec', errors);
  if (errors.length === 0) crossFieldRules(object.kind, object.spec, errors);
  return errors;
}

/** Formats field errors as one message, as `kubectl apply` prints them. @public */
export function formatFieldErrors(
  kind: string,
  name: string,
  errors: FieldError[],
): string {
  const details = errors.map(e =>
    e.field ? `${e.field}: ${e.message}` : e.message,
  );
  return `${kind} "${name}" is invalid: ${details.join(', ')}`;
}
