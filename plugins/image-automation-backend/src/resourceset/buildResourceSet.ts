import { OBJECT_ANNOTATIONS } from '@imageops/backstage-plugin-image-automation-common';
import { GoValue } from '../golib/reflect';
import {
  parseTemplate,
  executeTemplate,
  DEFAULT_TEMPLATE_LIMITS,
  TemplateLimits,
  RESOURCESET_DELIMS,
  Template,
} from '../template';
import { combineInputs } from './combineInputs';
import { jsonToYamlTemplateText } from './jsonToYamlTemplateText';
import { readObject, readObjects } from './readObjects';
import {
  InputProvider,
  InputSet,
  KubeObject,
  ResourceSetObject,
  StepResult,
} from './types';

const OWNER_GROUP = 'resourceset.fluxcd.controlplane.io';

/**
 * What to do when `spec.inputsFrom` is set but the providers export no inputs:
 * `empty-set` builds nothing (the controller then garbage-collects everything it applied);
 * `render-without-inputs` renders the templates once with empty inputs, as
 * `flux-operator build rset` does.
 * @internal
 */
export type EmptyInputsFromMode = 'empty-set' | 'render-without-inputs';

/** Input of {@link buildResourceSet}. @internal */
export interface BuildResourceSetInput {
  /** The ResourceSet (its `spec.inputs` are its own inputs). */
  resourceSet: ResourceSetObject;
  /** The input providers already selected for it (see `selectProviders`), with their exported inputs. */
  providers: InputProvider[];
  /** Default `empty-set`. */
  emptyInputsFrom?: EmptyInputsFromMode;
  /**
   * Template resource limits (issue #13); default `DEFAULT_TEMPLATE_LIMITS`. The time limit
   * covers the whole build, all templates and input sets together.
   */
  limits?: TemplateLimits;
}

/** The limits and deadline of the build in progress (builds are synchronous). */
let current: { limits: TemplateLimits; deadline: number } | undefined;

const execute = (tmpl: Template, inputs: InputSet | undefined) =>
  executeTemplate(tmpl, {
    inputs,
    limits: current?.limits,
    deadline: current?.deadline,
  });

/**
 * Result of {@link buildResourceSet}: either all objects, per step and flattened, each
 * with `commonMetadata` and the owner labels set — or one error, with the Flux Operator's
 * message naming the resource index or step and the template position. A failed build
 * never yields objects.
 * @internal
 */
export type BuildResourceSetResult =
  | { ok: true; steps: StepResult[]; objects: KubeObject[]; inputs: InputSet[] }
  | { ok: false; error: string };

function annotations(o: KubeObject): Record<string, GoValue> {
  const meta = o.metadata;
  if (meta && typeof meta === 'object' && !Array.isArray(meta)) {
    const a = (meta as Record<string, GoValue>).annotations;
    if (a && typeof a === 'object' && !Array.isArray(a))
      return a as Record<string, GoValue>;
  }
  return {};
}

function metaString(o: KubeObject, field: 'name' | 'namespace'): string {
  const meta = o.metadata as Record<string, GoValue> | undefined;
  const v = meta && typeof meta === 'object' ? meta[field] : undefined;
  return typeof v === 'string' ? v : '';
}

function str(v: GoValue | undefined): string {
  return typeof v === 'string' ? v : '';
}

/** group/kind/namespace/name: the identity the Flux Operator dedups on (version ignored). */
function objectKey(o: KubeObject): string {
  const apiVersion = str(o.apiVersion);
  const group = apiVersion.includes('/')
    ? apiVersion.slice(0, apiVersion.lastIndexOf('/'))
    : '';
  return [
    group,
    str(o.kind),
    metaString(o, 'namespace'),
    metaString(o, 'name'),
  ].join('/');
}

/** `<Kind>/<ns>/<name>` (namespace omitted when empty), as in Flux messages. */
function fmtObject(o: KubeObject): string {
  const ns = metaString(o, 'namespace');
  return `${str(o.kind)}/${ns ? `${ns}/` : ''}${metaString(o, 'name')}`;
}

const isDisabled = (o: KubeObject) =>
  annotations(o)[OBJECT_ANNOTATIONS.reconcile] === 'disabled';

class BuildError extends Error {}

function wrap<T>(prefix: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw new BuildError(`${prefix}${(e as Error).message}`);
  }
}

function compile(text: string): Template {
  return parseTemplate({
    name: 'resourceset',
    text,
    delims: RESOURCESET_DELIMS,
    funcs: 'resourceset',
  });
}

/** `builder.BuildResource`: one JSON template rendered with one input set. */
function buildResource(
  tmpl: Template,
  inputs: InputSet | undefined,
): KubeObject {
  const text = wrap('failed to execute template: ', () =>
    execute(tmpl, inputs),
  );
  return wrap('failed to read object: ', () => readObject(text));
}

function buildFromYaml(
  tmpl: Template,
  inputs: InputSet | undefined,
): KubeObject[] {
  const text = wrap('failed to execute multi-doc YAML template: ', () =>
    execute(tmpl, inputs),
  );
  return wrap('failed to read objects from multi-doc YAML: ', () =>
    readObjects(text),
  );
}

/** `builder.BuildResourceSet` for one set of templates. */
function buildObjects(
  yamlTemplate: string | undefined,
  templates: GoValue[],
  inputSets: InputSet[],
): KubeObject[] {
  const objects: KubeObject[] = [];
  const keys = new Set<string>();
  const add = (o: KubeObject, dedup: boolean) => {
    const key = objectKey(o);
    if (dedup && keys.has(key)) return;
    keys.add(key);
    objects.push(o);
  };
  templates.forEach((resource, i) => {
    const prefix =
      inputSets.length === 0
        ? 'failed to build resource: '
        : `failed to build resources[${i}]: `;
    const tmpl = wrap(prefix, () =>
      wrap('failed to parse template: ', () =>
        compile(jsonToYamlTemplateText(resource)),
      ),
    );
    if (inputSets.length === 0) {
      // Without inputs the Flux Operator neither excludes nor dedups JSON templates.
      add(
        wrap(prefix, () => buildResource(tmpl, undefined)),
        false,
      );
      return;
    }
    for (const inputs of inputSets) {
      const o = wrap(prefix, () => buildResource(tmpl, inputs));
      if (!isDisabled(o)) add(o, true);
    }
  });
  if (yamlTemplate) {
    const prefix =
      inputSets.length === 0
        ? 'failed to build resource: '
        : 'failed to build resources: ';
    const tmpl = wrap(prefix, () =>
      wrap('failed to parse multi-doc YAML template: ', () =>
        compile(yamlTemplate),
      ),
    );
    const fromTemplate =
      inputSets.length === 0
        ? wrap(prefix, () => buildFromYaml(tmpl, undefined))
        : inputSets.flatMap(inputs =>
            wrap(prefix, () => buildFromYaml(tmpl, inputs)),
          );
    for (const o of fromTemplate) if (!isDisabled(o)) add(o, true);
  }
  return objects;
}

function stringMap(v: GoValue | undefined): Record<string, string> | undefined {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return undefined;
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v)) {
    if (typeof val !== 'string') return undefined;
    out[k] = val;
  }
  return out;
}

/** `ssautil.SetCommonMetadata`: merge labels/annotations into every object. */
function setCommonMetadata(
  objects: KubeObject[],
  labels: Record<string, string> | undefined,
  annots: Record<string, string> | undefined,
) {
  for (const o of objects) {
    const meta = (
      o.metadata && typeof o.metadata === 'object' && !Array.isArray(o.metadata)
        ? o.metadata
        : (o.metadata = {})
    ) as Record<string, GoValue>;
    for (const [field, extra] of [
      ['labels', labels],
      ['annotations', annots],
    ] as const) {
      const merged = { ...(stringMap(meta[field]) ?? {}), ...(extra ?? {}) };
      if (Object.keys(merged).length > 0) meta[field] = merged;
    }
  }
}

/**
 * Builds a ResourceSet's objects from its templates and inputs, as the Flux Operator's
 * `builder.BuildResourceSetFromSpec` does: combine inputs (Flatten/Permute),
 * render every `resources[i]` per input set (templates-major), then `resourcesTemplate`
 * per input set; drop objects annotated `fluxcd.controlplane.io/reconcile: disabled`;
 * dedup by group/kind/namespace/name (first wins; not for JSON templates without inputs);
 * steps built independently with cross-step duplicates rejected. Then `commonMetadata`
 * and the owner labels `resourceset.fluxcd.controlplane.io/{name,namespace}` are set, in
 * the order `flux-operator build rset` applies them.
 *
 * Pure: no I/O; all errors are returned, never thrown.
 * @internal
 */
export function buildResourceSet(
  input: BuildResourceSetInput,
): BuildResourceSetResult {
  const limits = input.limits ?? DEFAULT_TEMPLATE_LIMITS;
  const saved = current;
  current = { limits, deadline: Date.now() + limits.timeoutMs };
  try {
    return build(input);
  } finally {
    current = saved;
  }
}

function build(input: BuildResourceSetInput): BuildResourceSetResult {
  const { resourceSet } = input;
  const spec = resourceSet.spec ?? {};
  try {
    if (
      (spec.steps?.length ?? 0) > 0 &&
      ((spec.resources?.length ?? 0) > 0 || spec.resourcesTemplate)
    ) {
      throw new BuildError(
        'spec.steps is mutually exclusive with spec.resources and spec.resourcesTemplate',
      );
    }
    for (const step of spec.steps ?? []) {
      if ((step.resources?.length ?? 0) === 0 && !step.resourcesTemplate) {
        throw new BuildError(
          `step "${step.name}": at least one of resources or resourcesTemplate must be set`,
        );
      }
    }
    const inputs = wrap('error combining inputs: ', () =>
      combineInputs({
        resourceSet: {
          apiVersion: 'fluxcd.controlplane.io/v1',
          kind: 'ResourceSet',
          name: resourceSet.metadata.name,
          namespace: resourceSet.metadata.namespace,
          inputs: spec.inputs ?? [],
        },
        providers: input.providers,
        strategy: spec.inputStrategy?.name,
        includeEmptyProviders:
          spec.inputStrategy?.name === 'Permute' &&
          !!spec.inputStrategy.includeEmptyProviders,
      }),
    );
    if (
      (spec.inputsFrom?.length ?? 0) > 0 &&
      inputs.length === 0 &&
      (input.emptyInputsFrom ?? 'empty-set') === 'empty-set'
    ) {
      return { ok: true, steps: [], objects: [], inputs };
    }

    const steps: StepResult[] = [];
    if ((spec.steps?.length ?? 0) > 0) {
      const stepOf = new Map<string, string>();
      for (const step of spec.steps!) {
        const objects = wrap(`step "${step.name}": `, () =>
          buildObjects(step.resourcesTemplate, step.resources ?? [], inputs),
        );
        for (const o of objects) {
          const key = objectKey(o);
          const prev = stepOf.get(key);
          if (prev !== undefined && prev !== step.name) {
            throw new BuildError(
              `duplicate resource ${fmtObject(o)} in step "${
                step.name
              }", already defined in step "${prev}"`,
            );
          }
          stepOf.set(key, step.name);
        }
        steps.push({ name: step.name, timeout: step.timeout, objects });
      }
    } else {
      steps.push({
        name: '',
        objects: buildObjects(
          spec.resourcesTemplate,
          spec.resources ?? [],
          inputs,
        ),
      });
    }
    const objects = steps.flatMap(s => s.objects);
    if (spec.commonMetadata) {
      setCommonMetadata(
        objects,
        spec.commonMetadata.labels,
        spec.commonMetadata.annotations,
      );
    }
    setCommonMetadata(
      objects,
      {
        [`${OWNER_GROUP}/name`]: resourceSet.metadata.name,
        [`${OWNER_GROUP}/namespace`]: resourceSet.metadata.namespace,
      },
      undefined,
    );
    return { ok: true, steps, objects, inputs };
  } catch (e) {
    return { ok: false, error: (e as Error).message };
  }
}
