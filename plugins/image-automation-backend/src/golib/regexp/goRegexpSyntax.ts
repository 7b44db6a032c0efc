/**
 * The syntax tree a Go pattern parses to (goRegexp.ts) and the Pike VM compiles (goRegexpVm.ts):
 * its own module, so that neither of the two imports the other for it.
 */

/** Code point ranges `[lo, hi]`, sorted and merged. @internal */
export type Ranges = Array<[number, number]>;

/** Zero-width assertions: text begin/end, line begin/end (`(?m)`), ASCII word boundary. @internal */
export type AssertKind = 'bot' | 'eot' | 'bol' | 'eol' | 'wb' | 'nwb';

/** The parsed expression. @internal */
export type Node =
  | { t: 'class'; ranges: Ranges }
  | { t: 'assert'; kind: AssertKind }
  | { t: 'cap'; index: number; sub: Node }
  | { t: 'group'; sub: Node }
  | { t: 'concat'; subs: Node[] }
  | { t: 'alt'; subs: Node[] }
  | {
      t: 'rep';
      min: number;
      max: number;
      greedy: boolean;
      sub: Node;
      counted: boolean;
    };
