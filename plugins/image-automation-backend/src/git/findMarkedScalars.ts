import {
  Document,
  isCollection,
  isPair,
  isSeq,
  LineCounter,
  parseAllDocuments,
  Scalar,
  visit,
} from 'yaml';
import { readMarker } from './readMarker';

/** A scalar that carries an image policy marker, located in the file's text. @internal */
export interface MarkedScalar {
  /** The marker's setter name (`namespace:policy[:tag|:name|:digest]`). */
  setter: string;
  /** The scalar's value as YAML reads it. */
  value: string;
  /** The scalar's style, kept when it is rewritten. */
  style: 'PLAIN' | 'QUOTE_DOUBLE' | 'QUOTE_SINGLE';
  /** Offsets of the scalar's source text (without tag, anchor or comment). */
  start: number;
  end: number;
  /** 1-based line of the scalar. */
  line: number;
  /** Index of the YAML document in the file. */
  document: number;
  /** Whether the scalar is an item of a flow collection (`[…]`, `{…}`). */
  inFlow?: boolean;
}

/** The identity of the object a document holds, as kyaml's `ResourceIdentifier`. @internal */
export interface ObjectIdentity {
  apiVersion: string;
  kind: string;
  name: string;
  namespace: string;
}

/** The outcome of reading one file. @internal */
export type MarkedFile =
  | { ok: true; scalars: MarkedScalar[]; objects: ObjectIdentity[] }
  | { ok: false; line: number; message: string };

function lineEnd(text: string, offset: number): number {
  const end = text.indexOf('\n', offset);
  return end === -1 ? text.length : end;
}

function lineStart(text: string, offset: number): number {
  return text.lastIndexOf('\n', offset - 1) + 1;
}

/**
 * The comment that follows the scalar on its own line (yaml.v3's line comment), if any. Inside a
 * flow collection the item's `,` may come first (`[\n  app:1, # {…}\n]`).
 */
function lineComment(text: string, valueEnd: number, inFlow = false): string {
  const rest = text.slice(valueEnd, lineEnd(text, valueEnd)).replace(/\r$/, '');
  const match = (inFlow ? /^(?:[ \t]*,)?[ \t]+(#.*)$/ : /^[ \t]+(#.*)$/).exec(
    rest,
  );
  return match ? match[1] : '';
}

/**
 * The comment lines directly above a block sequence item (yaml.v3's head comment of the item's
 * scalar), joined with newlines as yaml.v3 joins them. Only for an item written on its dash's line, or
 * on a line of its own in a flow sequence.
 */
function headComment(text: string, start: number, inFlow = false): string {
  const begin = lineStart(text, start);
  // In a flow sequence, an item that starts its line.
  if (!(inFlow ? /^[ \t]*$/ : /^[ \t]*-[ \t]+$/).test(text.slice(begin, start)))
    return '';
  const lines: string[] = [];
  let end = begin - 1;
  while (end > 0) {
    const from = lineStart(text, end);
    const line = text.slice(from, end).replace(/\r$/, '');
    const match = /^[ \t]*(#.*)$/.exec(line);
    if (!match) break;
    lines.unshift(match[1]);
    end = from - 1;
  }
  return lines.join('\n');
}

function stringAt(doc: Document, path: string[]): string {
  const value = doc.getIn(path);
  return typeof value === 'string' ? value : '';
}

/**
 * Finds the scalars of a YAML file that carry an image policy marker, with the attachment
 * rules of Flux (kyaml on yaml.v3): keys and collections never; a value's line comment first;
 * the head comment only for block sequence items and only when there is no line comment.
 * Inside flow collections the same rules hold for items on lines of their own (a `,` may
 * precede the comment); a comment after the closing `]` or `}` belongs to the collection.
 * @internal
 */
export function findMarkedScalars(text: string): MarkedFile {
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, {
    schema: 'failsafe',
    lineCounter,
    prettyErrors: false,
  });
  if (!Array.isArray(docs)) return { ok: true, scalars: [], objects: [] };
  const scalars: MarkedScalar[] = [];
  const objects: ObjectIdentity[] = [];
  for (const [index, doc] of docs.entries()) {
    const error = doc.errors[0];
    if (error) {
      return {
        ok: false,
        line: lineCounter.linePos(error.pos[0]).line,
        message: error.message.split('\n')[0],
      };
    }
    objects.push({
      apiVersion: stringAt(doc, ['apiVersion']),
      kind: stringAt(doc, ['kind']),
      name: stringAt(doc, ['metadata', 'name']),
      namespace: stringAt(doc, ['metadata', 'namespace']),
    });
    visit(doc, {
      Scalar(key, node, path) {
        if (key === 'key' || !node.range) return;
        const inFlow = path.some(
          ancestor => isCollection(ancestor) && ancestor.flow,
        );
        const [start, end] = node.range;
        // Block scalars end on a later line: what follows them is not their comment.
        if (
          start === end ||
          node.type === 'BLOCK_LITERAL' ||
          node.type === 'BLOCK_FOLDED'
        )
          return;
        const parent = path[path.length - 1];
        let comment = lineComment(text, end, inFlow);
        if (!comment && isSeq(parent))
          comment = headComment(text, start, inFlow);
        if (!comment || !(isPair(parent) || isSeq(parent))) return;
        const setter = readMarker(comment);
        if (setter === undefined) return;
        scalars.push({
          setter,
          value: String((node as Scalar).value),
          style: (node.type ?? 'PLAIN') as MarkedScalar['style'],
          start,
          end,
          line: lineCounter.linePos(start).line,
          document: index,
          inFlow,
        });
      },
    });
  }
  return { ok: true, scalars, objects };
}
