import { GoValue } from '../golib/reflect';
import { LabelSelector } from '../golib/labels';

/** One input set: a map of arbitrary JSON values. @internal */
export type InputSet = Record<string, GoValue>;

/** A reference from `spec.inputsFrom`. @internal */
export interface InputProviderReference {
  apiVersion?: string;
  kind?: string;
  name?: string;
  selector?: LabelSelector;
}

export type { LabelSelector } from '../golib/labels';

/** A step of `spec.steps`. @internal */
export interface ResourceSetStep {
  name: string;
  resources?: GoValue[];
  resourcesTemplate?: string;
  timeout?: string;
}

/**
 * The parts of a ResourceSet (`fluxcd.controlplane.io/v1`) the builder reads. Values are
 * template values ({@link GoValue}): integers as `bigint`, floats as `number`, as the
 * Flux Operator decodes them (see `parseYaml`).
 * @internal
 */
export interface ResourceSetObject {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace: string;
    labels?: Record<string, string>;
  };
  spec: {
    inputs?: InputSet[];
    inputsFrom?: InputProviderReference[];
    inputStrategy?: { name?: string; includeEmptyProviders?: boolean };
    resources?: GoValue[];
    resourcesTemplate?: string;
    steps?: ResourceSetStep[];
    commonMetadata?: {
      labels?: Record<string, string>;
      annotations?: Record<string, string>;
    };
  };
}

/**
 * A source of inputs other than the ResourceSet itself: a ResourceSetInputProvider with
 * its exported inputs (`status.exportedInputs`).
 * @internal
 */
export interface InputProvider {
  apiVersion: string;
  kind: string;
  name: string;
  namespace: string;
  labels?: Record<string, string>;
  inputs: InputSet[];
}

/** A Kubernetes object as the builder produces it. @internal */
export type KubeObject = Record<string, GoValue>;

/** The objects of one step (`name` is empty for a ResourceSet without steps). @internal */
export interface StepResult {
  name: string;
  timeout?: string;
  objects: KubeObject[];
}
