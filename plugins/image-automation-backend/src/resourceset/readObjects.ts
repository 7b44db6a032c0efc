/**
 * How the Flux Operator reads rendered templates back into objects (`ssautil.ReadObject`
 * and `ReadObjects` over Kubernetes' YAML-or-JSON decoder).
 */

import { marshalJson } from '../golib/json';
import { GoValue } from '../golib/reflect';
import { parseYaml, YamlError } from '../golib/yaml';
import { KubeObject } from './types';

/** Splits a YAML stream into documents the way Kubernetes' `YAMLReader` does. */
function splitDocuments(text: string): string[] {
  const docs: string[] = [];
  let buf = '';
  const lines = text.match(/[^\n]*\n|[^\n]+$/g) ?? [];
  for (const line of lines) {
    if (line.startsWith('---')) {
      const rest = line.slice(3).trim();
      if (rest.length > 0 && rest[0] !== '#') {
        throw new YamlError(`invalid Yaml document separator: ${rest}`);
      }
      if (buf.length > 0) docs.push(buf);
      buf = '';
      continue;
    }
    buf += line;
  }
  if (buf.length > 0) docs.push(buf);
  return docs;
}

function errorConverting(e: unknown): Error {
  if (e instanceof YamlError)
    return new Error(`error converting YAML to JSON: ${e.message}`);
  return e as Error;
}

/** Decodes one document into an object with `Unstructured`'s checks. */
function decodeDocument(doc: string): KubeObject {
  let value: GoValue;
  try {
    value = parseYaml(doc);
  } catch (e) {
    throw errorConverting(e);
  }
  // parseYaml already applied Kubernetes' YAML → JSON → PreserveInts number rules.
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    const json = marshalJson(value);
    if (value === null)
      throw new Error(`Object 'Kind' is missing in '${json}'`);
    let kind: string = typeof value;
    if (Array.isArray(value)) kind = 'array';
    else if (typeof value === 'bigint' || typeof value === 'number')
      kind = 'number';
    throw new Error(
      `json: cannot unmarshal ${kind} into Go value of type map[string]interface {}`,
    );
  }
  const obj = value as KubeObject;
  if (typeof obj.kind !== 'string' || obj.kind === '') {
    throw new Error(`Object 'Kind' is missing in '${marshalJson(value)}'`);
  }
  return obj;
}

/** `ssautil.ReadObject`: the first document of the text as one object. @internal */
export function readObject(text: string): KubeObject {
  const docs = splitDocuments(text);
  if (docs.length === 0) throw new Error('EOF');
  return decodeDocument(docs[0]);
}

function str(v: GoValue | undefined): string {
  return typeof v === 'string' ? v : '';
}

/** Name, kind and apiVersion set: what `ssautil.IsKubernetesObject` requires. @internal */
export function isKubernetesObject(o: KubeObject): boolean {
  const meta = o.metadata as Record<string, GoValue> | undefined;
  return (
    str(meta?.name) !== '' && str(o.kind) !== '' && str(o.apiVersion) !== ''
  );
}

/**
 * `ssautil.ReadObjects`: every document that is a Kubernetes object (Lists are expanded,
 * kustomize configs and other documents are dropped).
 * @internal
 */
export function readObjects(text: string): KubeObject[] {
  const out: KubeObject[] = [];
  for (const doc of splitDocuments(text)) {
    if (doc.trim() === '' || /^(\s*(#[^\n]*)?\n?)*$/.test(doc)) continue;
    const obj = decodeDocument(doc);
    if (Array.isArray(obj.items) && str(obj.kind).endsWith('List')) {
      for (const item of obj.items)
        if (item && typeof item === 'object' && !Array.isArray(item))
          out.push(item as KubeObject);
      continue;
    }
    const isKustomization =
      str(obj.kind).toLowerCase() === 'kustomization' &&
      str(obj.apiVersion).startsWith('kustomize.config.k8s.io/');
    if (isKubernetesObject(obj) && !isKustomization) out.push(obj);
  }
  return out;
}
