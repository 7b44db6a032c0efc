/**
 * Reading YAML the way `sigs.k8s.io/yaml` does: go-yaml v2 (YAML 1.1) resolution of plain
 * scalars, then the YAML → JSON → Go value round trip Kubernetes decoders apply (an integral
 * float becomes an integer, timestamps stay strings, keys become strings).
 */

import {
  Alias,
  Document,
  isAlias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  Node,
  parseAllDocuments,
  Scalar,
} from 'yaml';
import { GoValue, formatFloat, setOwn } from '../reflect';
import { fastParseYaml } from './fastParse';
import { jsonRoundTripNumber } from './numbers';
import { resolvePlain } from './resolve';

/** A YAML syntax or conversion error, worded like go-yaml's (`yaml: line N: …`). @internal */
export class YamlError extends Error {}

function scalarValue(node: Scalar, doc: Document): GoValue {
  const raw = String(node.value ?? '');
  const tag = node.tag;
  if (
    tag &&
    tag !== '?' &&
    !tag.startsWith('tag:yaml.org,2002:') &&
    !tag.startsWith('!!')
  ) {
    return raw;
  }
  const shortTag = tag?.replace('tag:yaml.org,2002:', '').replace('!!', '');
  if (shortTag === 'str') return raw;
  if (node.type !== 'PLAIN' && !shortTag) return raw;
  const r = resolvePlain(raw);
  if (shortTag === 'int' && r.tag !== 'int')
    throw new YamlError(`yaml: cannot decode !!${r.tag} \`${raw}\` as a !!int`);
  if (shortTag === 'float' && r.tag === 'int') return Number(r.value);
  void doc;
  switch (r.tag) {
    case 'null':
      return null;
    case 'bool':
      return r.value;
    case 'int':
      if (r.value >= 2n ** 63n) return Number(r.value);
      return r.value;
    case 'float':
      return r.value;
    default:
      return r.value;
  }
}

function keyString(v: GoValue): string {
  if (typeof v === 'string') return v;
  if (v === null) return 'null';
  if (typeof v === 'number') return formatFloat(Math.fround(v));
  return String(v);
}

/** Converts a YAML node to a Go value with Kubernetes' number rules. */
function toValue(
  node: Node | null | undefined,
  doc: Document,
  depth = 0,
): GoValue {
  if (depth > 10000) throw new YamlError('yaml: exceeded max depth of 10000');
  if (node === null || node === undefined) return null;
  if (isAlias(node))
    return toValue((node as Alias).resolve(doc) as Node, doc, depth + 1);
  if (isScalar(node)) {
    const v = scalarValue(node, doc);
    return typeof v === 'number' ? jsonRoundTripNumber(v) : v;
  }
  if (isSeq(node))
    return node.items.map(i => toValue(i as Node, doc, depth + 1));
  if (isMap(node)) {
    const out: Record<string, GoValue> = {};
    for (const pair of node.items) {
      if (!isPair(pair)) continue;
      const keyNode = pair.key as Node | null;
      const k = isScalar(keyNode)
        ? scalarValue(keyNode, doc)
        : toValue(keyNode, doc, depth + 1);
      if (k === '<<' && isScalar(keyNode) && keyNode.type === 'PLAIN') {
        const merged = toValue(pair.value as Node, doc, depth + 1);
        const sources = Array.isArray(merged) ? merged : [merged];
        for (const src of sources) {
          if (src && typeof src === 'object' && !Array.isArray(src)) {
            for (const [mk, mv] of Object.entries(src))
              if (!Object.hasOwn(out, mk)) setOwn(out, mk, mv);
          }
        }
        continue;
      }
      if (k !== null && typeof k === 'object') {
        throw new YamlError(
          `error converting YAML to JSON: yaml: invalid map key: ${JSON.stringify(
            k,
          )}`,
        );
      }
      setOwn(out, keyString(k), toValue(pair.value as Node, doc, depth + 1));
    }
    return out;
  }
  return null;
}

/**
 * Maps the `yaml` package's errors to go-yaml's (libyaml's) messages for the mistakes
 * rendered templates typically make.
 */
function goYamlMessage(code: string, message: string): string {
  if (/Block scalar header/.test(message))
    return 'did not find expected comment or line break';
  if (/Flow sequence/.test(message)) return "did not find expected ',' or ']'";
  if (/Flow mapping/.test(message)) return "did not find expected ',' or '}'";
  if (/Missing closing "?quote|Missing closing/i.test(message))
    return 'found unexpected end of stream';
  switch (code) {
    case 'BLOCK_AS_IMPLICIT_KEY':
      return 'mapping values are not allowed in this context';
    case 'MULTILINE_IMPLICIT_KEY':
      return "could not find expected ':'";
    case 'BAD_SCALAR_START':
    case 'TAB_AS_INDENT':
      return 'found character that cannot start any token';
    case 'DUPLICATE_KEY':
      return 'mapping key already defined';
    default:
      return 'did not find expected key';
  }
}

/**
 * Parses a (multi-document) YAML stream into Go values, one per document; empty documents
 * are `null`. Errors are {@link YamlError}s worded like go-yaml's.
 * @internal
 */
export function parseYamlDocuments(text: string): GoValue[] {
  const docs = parseAllDocuments(text, {
    schema: 'failsafe',
    uniqueKeys: false,
    strict: false,
    keepSourceTokens: false,
  });
  const list = Array.isArray(docs) ? docs : [];
  const out: GoValue[] = [];
  for (const doc of list) {
    const err = doc.errors[0];
    if (err) {
      const line = err.linePos?.[0]?.line ?? 1;
      throw new YamlError(
        `yaml: line ${line}: ${goYamlMessage(err.code, err.message)}`,
      );
    }
    out.push(toValue(doc.contents as Node, doc as Document));
  }
  return out;
}

/** Parses a single YAML document (an empty text is `null`). @internal */
export function parseYaml(text: string): GoValue {
  const fast = fastParseYaml(text);
  if (fast !== undefined) return fast;
  const docs = parseYamlDocuments(text);
  return docs.length === 0 ? null : docs[0];
}
