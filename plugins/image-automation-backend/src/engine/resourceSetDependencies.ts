import { parse } from '@marcbachmann/cel-js';
import {
  FLUX_OPERATOR_API_VERSION,
  ResourceSetDependency,
} from '@imageops/backstage-plugin-image-automation-common';
import {
  ClusterDetails,
  KubeClient,
  KubernetesObject,
  readObjectReadiness,
} from '../kubernetes';
import { StoredObject } from '../store/ObjectStore';
import { parseJson } from '../template';

/**
 * The Flux Operator's readiness expression for ResourceSets and input providers: every Ready
 * condition is True for the current generation — vacuously true before the first reconcile.
 * @internal
 */
export const BUILT_IN_READY_EXPR =
  "status.conditions.filter(c, c.type == 'Ready').all(c, c.status == 'True' && c.observedGeneration == metadata.generation)";

type Program = (context: Record<string, unknown>) => unknown;

/** A dependency with its readiness program (`readyExpr`, or the built-in one), compiled once. */
export interface CompiledDependency extends ResourceSetDependency {
  ref: string;
  program?: Program;
}

const isFluxOperatorKind = (d: ResourceSetDependency) =>
  d.apiVersion === FLUX_OPERATOR_API_VERSION &&
  (d.kind === 'ResourceSet' || d.kind === 'ResourceSetInputProvider');

/**
 * Compiles the `readyExpr` of every dependency (§E.5 step 2); a namespace-less dependency is in the
 * ResourceSet's namespace (except Namespaces). Throws with the expression and the parse error.
 * @internal
 */
export function compileDependencies(
  dependsOn: ResourceSetDependency[],
  namespace: string,
): CompiledDependency[] {
  return dependsOn.map(d => {
    const ns = d.namespace ?? (d.kind === 'Namespace' ? undefined : namespace);
    const ref = `${d.apiVersion}/${d.kind}/${ns ? `${ns}/` : ''}${d.name}`;
    const text =
      d.readyExpr ?? (isFluxOperatorKind(d) ? BUILT_IN_READY_EXPR : undefined);
    let program: Program | undefined;
    if (text !== undefined) {
      try {
        program = parse(text) as Program;
      } catch (error) {
        throw new Error(
          `failed to parse the CEL expression '${text}' of dependency ${ref}: ${
            (error as Error).message
          }`,
        );
      }
    }
    return { ...d, namespace: ns, ref, program };
  });
}

/** An object as CEL sees it: its top-level fields as variables, integers as CEL ints. */
function celContext(object: Record<string, unknown>): Record<string, unknown> {
  const value = parseJson(JSON.stringify(object), 'preserve') as Record<
    string,
    unknown
  >;
  return { spec: {}, status: {}, ...value };
}

function evaluate(dep: CompiledDependency, object: Record<string, unknown>) {
  let result: unknown;
  try {
    result = dep.program!(celContext(object));
  } catch (error) {
    return `dependency ${
      dep.ref
    } not ready: failed to evaluate the CEL expression: ${
      (error as Error).message
    }`;
  }
  return result === true
    ? undefined
    : `dependency ${dep.ref} not ready: expression evaluated to ${String(
        result,
      )}`;
}

/** What CEL reads of a cluster object: no last-applied annotation, no Secret data from elsewhere (Flux). */
function redacted(
  object: KubernetesObject,
  namespace: string,
): Record<string, unknown> {
  const annotations = { ...object.metadata.annotations };
  delete annotations['kubectl.kubernetes.io/last-applied-configuration'];
  const copy: Record<string, unknown> = {
    ...object,
    metadata: { ...object.metadata, annotations },
  };
  if (object.kind === 'Secret' && object.metadata.namespace !== namespace) {
    delete copy.data;
  }
  return copy;
}

/**
 * The first reason a dependency is not ready, or undefined when all are (§E.5 step 3). The Flux
 * Operator's own kinds live in Backstage here, so a ResourceSet or input provider dependency is
 * looked up among the stored objects; every other kind in each target cluster. `ready` without
 * `readyExpr` means kstatus Current for cluster objects.
 * @internal
 */
export async function dependencyNotReady(options: {
  dependencies: CompiledDependency[];
  namespace: string;
  clusters: ClusterDetails[];
  stored: (id: string) => Promise<StoredObject | undefined>;
}): Promise<string | undefined> {
  for (const dep of options.dependencies.filter(isFluxOperatorKind)) {
    const object = await options.stored(
      `${dep.kind}/${dep.namespace}/${dep.name}`,
    );
    if (!object) return `dependency ${dep.ref} not found`;
    if (dep.ready) {
      const notReady = evaluate(dep, {
        ...object.manifest,
        metadata: {
          ...object.manifest.metadata,
          generation: object.generation,
        },
        status: object.status,
      });
      if (notReady) return notReady;
    }
  }
  const inCluster = options.dependencies.filter(d => !isFluxOperatorKind(d));
  if (inCluster.length === 0) return undefined;
  for (const cluster of options.clusters) {
    const client = await KubeClient.forCluster(cluster, {});
    try {
      for (const dep of inCluster) {
        const object = await client.get({ ...dep, namespace: dep.namespace });
        if (!object) return `dependency ${dep.ref} not found`;
        if (!dep.ready) continue;
        if (dep.program) {
          const notReady = evaluate(dep, redacted(object, options.namespace));
          if (notReady) return notReady;
        } else {
          const readiness = readObjectReadiness(object);
          if (readiness.status !== 'Current') {
            return `dependency ${dep.ref} not ready: ${readiness.message}`;
          }
        }
      }
    } catch (error) {
      return (error as Error).message;
    } finally {
      client.close();
    }
  }
  return undefined;
}
