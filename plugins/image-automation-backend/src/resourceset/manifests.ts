import { GoValue } from '../golib/reflect';
import { inputId } from './combineInputs';
import { InputProvider, InputSet, ResourceSetObject } from './types';

type Obj = Record<string, GoValue>;

const isObj = (v: GoValue | undefined): v is Obj =>
  !!v && typeof v === 'object' && !Array.isArray(v);
const str = (v: GoValue | undefined): string =>
  typeof v === 'string' ? v : '';

function stringMap(v: GoValue | undefined): Record<string, string> | undefined {
  if (!isObj(v)) return undefined;
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v))
    out[k] = typeof val === 'string' ? val : String(val);
  return out;
}

/**
 * A ResourceSet from its decoded manifest (see `parseYaml`). `defaultNamespace` fills an
 * empty `metadata.namespace`. Throws with the Flux Operator CLI's messages when the name
 * or namespace is missing.
 * @internal
 */
export function resourceSetFromManifest(
  manifest: GoValue,
  defaultNamespace: string,
): ResourceSetObject {
  const m = isObj(manifest) ? manifest : {};
  const meta = isObj(m.metadata) ? m.metadata : {};
  const spec = isObj(m.spec) ? m.spec : {};
  const namespace = str(meta.namespace) || defaultNamespace;
  if (!namespace)
    throw new Error(
      'ResourceSet namespace must be set either in the manifest or with --namespace',
    );
  const name = str(meta.name);
  if (!name) throw new Error('ResourceSet name must be set in the manifest');
  const list = (v: GoValue | undefined) => (Array.isArray(v) ? v : []);
  const strategy = isObj(spec.inputStrategy) ? spec.inputStrategy : undefined;
  const common = isObj(spec.commonMetadata) ? spec.commonMetadata : undefined;
  return {
    apiVersion: 'fluxcd.controlplane.io/v1',
    kind: 'ResourceSet',
    metadata: { name, namespace, labels: stringMap(meta.labels) },
    spec: {
      inputs: list(spec.inputs).filter(isObj) as InputSet[],
      inputsFrom: list(spec.inputsFrom)
        .filter(isObj)
        .map(r => ({
          apiVersion: str(r.apiVersion) || undefined,
          kind: str(r.kind) || undefined,
          name: str(r.name) || undefined,
          selector: isObj(r.selector)
            ? {
                matchLabels: stringMap(r.selector.matchLabels),
                matchExpressions: list(r.selector.matchExpressions)
                  .filter(isObj)
                  .map(e => ({
                    key: str(e.key),
                    operator: str(e.operator),
                    values: list(e.values).map(x => String(x)),
                  })),
              }
            : undefined,
        })),
      inputStrategy: strategy
        ? {
            name: str(strategy.name) || undefined,
            includeEmptyProviders: strategy.includeEmptyProviders === true,
          }
        : undefined,
      resources: list(spec.resources),
      resourcesTemplate: str(spec.resourcesTemplate) || undefined,
      steps: list(spec.steps)
        .filter(isObj)
        .map(s => ({
          name: str(s.name),
          resources: list(s.resources),
          resourcesTemplate: str(s.resourcesTemplate) || undefined,
          timeout: str(s.timeout) || undefined,
        })),
      commonMetadata: common
        ? {
            labels: stringMap(common.labels),
            annotations: stringMap(common.annotations),
          }
        : undefined,
    },
  };
}

/**
 * A `Static` ResourceSetInputProvider as `flux-operator build rset --inputs-from-provider`
 * reads it offline: its single exported input is `spec.defaultValues` with `id` set to the
 * adler32 of the provider **name** (the controller uses the object's UID).
 * Returns `undefined` for providers of another namespace (ignored, as upstream).
 * @internal
 */
export function staticProviderFromManifest(
  manifest: GoValue,
  namespace: string,
): InputProvider | undefined {
  const m = isObj(manifest) ? manifest : {};
  const meta = isObj(m.metadata) ? m.metadata : {};
  const spec = isObj(m.spec) ? m.spec : {};
  const ns = str(meta.namespace) || namespace;
  if (ns !== namespace) return undefined;
  const name = str(meta.name);
  if (!name)
    throw new Error(
      'ResourceSetInputProvider name must be set in the manifest',
    );
  const type = str(spec.type);
  if (type !== 'Static')
    throw new Error(
      `unsupported provider type '${type}', only 'Static' is supported`,
    );
  const values: InputSet = isObj(spec.defaultValues)
    ? { ...spec.defaultValues }
    : {};
  values.id = inputId(name);
  return {
    apiVersion: 'fluxcd.controlplane.io/v1',
    kind: 'ResourceSetInputProvider',
    name,
    namespace: ns,
    labels: stringMap(meta.labels),
    inputs: [values],
  };
}
