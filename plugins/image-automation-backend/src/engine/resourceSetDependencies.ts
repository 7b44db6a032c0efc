import { parse } from '@marcbachmann/cel-js';
import {
  FLUX_OPERATOR_API_VERSION,
  objectId,
  ResourceSetDependency,
} from '@imageops/backstage-plugin-image-automation-common';
import {
  ClusterDetails,
  dependencyRefusal,
  KubeClient,
  KubernetesObject,
  readObjectReadiness,
} from '../kubernetes';
import { StoredObject } from '../store/ObjectStore';
import { parseJson } from '../golib/json';

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
 * Compiles the `readyExpr` of every dependency, before anything is read; a namespace-less dependency is in the
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

/**
 * Whether the dependency's expression holds for `object`. Only the verdict is ever reported: never
 * the value the expression produced, nor an evaluation error's text (both can carry the object's
 * content, e.g. `string(data)`), only which expression of which dependency did not hold.
 */
function evaluate(dep: CompiledDependency, object: Record<string, unknown>) {
  let result: unknown;
  try {
    result = dep.program!(celContext(object));
  } catch {
    return `dependency ${dep.ref} not ready: its readiness expression could not be evaluated (not true)`;
  }
  // The Flux Operator's words, which name the dependency only.
  return result === true ? undefined : `dependency ${dep.ref} not ready`;
}

/**
 * The API server's NotFound message for an object (`configmaps "x" not found`,
 * `deployments.apps "x" not found`), which the Flux Operator appends to `not found`. Built from
 * the resource and the name, both from the spec, never from what the server answered.
 */
function notFound(dep: CompiledDependency, resource: string): string {
  const group = dep.apiVersion.includes('/')
    ? dep.apiVersion.split('/')[0]
    : '';
  return `dependency ${dep.ref} not found: ${resource}${
    group ? `.${group}` : ''
  } "${dep.name}" not found`;
}

/** The plural resources of the Flux Operator's kinds, which live in Backstage here. */
const FLUX_OPERATOR_RESOURCES: Record<string, string> = {
  ResourceSet: 'resourcesets',
  ResourceSetInputProvider: 'resourcesetinputproviders',
};

/** What CEL reads of a cluster object: no last-applied annotation (Flux). */
function redacted(object: KubernetesObject): Record<string, unknown> {
  const annotations = { ...object.metadata.annotations };
  delete annotations['kubectl.kubernetes.io/last-applied-configuration'];
  return { ...object, metadata: { ...object.metadata, annotations } };
}

/**
 * The first reason a dependency is not ready, or undefined when all are, in `dependsOn` order. The Flux
 * Operator's own kinds live in Backstage here, so a ResourceSet or input provider dependency is
 * looked up among the stored objects; every other kind in each target cluster, read as the
 * ResourceSet's service account when it names one, and only where the cluster's policy lets the set
 * write (namespace and kind allowed, never a Secret): a target outside it is `refused` before
 * anything is read. `ready` without `readyExpr` means kstatus Current for cluster objects.
 * @internal
 */
export async function dependencyNotReady(options: {
  dependencies: CompiledDependency[];
  namespace: string;
  clusters: ClusterDetails[];
  stored: (id: string) => Promise<StoredObject | undefined>;
  serviceAccount?: { namespace: string; name: string };
}): Promise<{ refused: boolean; message: string } | undefined> {
  const notReady = (message: string) => ({ refused: false, message });
  for (const dep of options.dependencies.filter(isFluxOperatorKind)) {
    const object = await options.stored(
      objectId(dep.kind, dep.namespace ?? options.namespace, dep.name),
    );
    if (!object)
      return notReady(notFound(dep, FLUX_OPERATOR_RESOURCES[dep.kind]));
    if (dep.ready) {
      const failed = evaluate(dep, {
        ...object.manifest,
        metadata: {
          ...object.manifest.metadata,
          generation: object.generation,
        },
        status: object.status,
      });
      if (failed) return notReady(failed);
    }
  }
  const inCluster = options.dependencies.filter(d => !isFluxOperatorKind(d));
  if (inCluster.length === 0) return undefined;
  for (const cluster of options.clusters) {
    const client = await KubeClient.forCluster(cluster, {
      impersonateUser: options.serviceAccount
        ? `system:serviceaccount:${options.serviceAccount.namespace}:${options.serviceAccount.name}`
        : undefined,
    });
    try {
      for (const dep of inCluster) {
        const refusal = await dependencyRefusal(client, dep);
        if (refusal) {
          return {
            refused: true,
            message: `dependency ${dep.ref} refused on cluster '${cluster.name}': ${refusal}`,
          };
        }
      }
      for (const dep of inCluster) {
        const object = await client.get({ ...dep, namespace: dep.namespace });
        if (!object) {
          let resource: string;
          try {
            resource = (await client.resourceFor(dep.apiVersion, dep.kind))
              .resource;
          } catch (error) {
            // The kind itself is unknown there (`no matches for kind …`).
            return notReady(
              `dependency ${dep.ref} not found: ${(error as Error).message}`,
            );
          }
          return notReady(notFound(dep, resource));
        }
        if (!dep.ready) continue;
        if (dep.program) {
          const failed = evaluate(dep, redacted(object));
          if (failed) return notReady(failed);
        } else {
          const readiness = readObjectReadiness(object);
          if (readiness.status !== 'Current') {
            return notReady(
              `dependency ${dep.ref} not ready: ${readiness.message}`,
            );
          }
        }
      }
    } catch (error) {
      return notReady((error as Error).message);
    } finally {
      client.close();
    }
  }
  return undefined;
}
