/**
 * Seeded random Go regular expressions (valid and invalid) with inputs and `Expand`
 * templates, for comparing the RE2 → JavaScript translation with Go's `regexp`.
 */

import { seededRandom } from '../../__testUtils__/seededRandom';

/** A generated case; `capturesInRepeat` marks patterns with a capture inside a repetition. */
export interface RegexpCase {
  pattern: string;
  template: string;
  inputs: string[];
  capturesInRepeat: boolean;
}

export function regexpCaseGenerator(seed: number): () => RegexpCase {
  const rnd = seededRandom(seed);
  const int = (n: number) => Math.floor(rnd() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)];
  const chance = (p: number) => rnd() < p;

  let capturesInRepeat = false;

  const literal = () =>
    pick([
      'a',
      'b',
      'c',
      'A',
      'B',
      '0',
      '1',
      '-',
      '_',
      'x',
      'k',
      'K',
      's',
      'é',
      '\\.',
      '\\-',
      '\\$',
      '\\(',
      '\\\\',
      ' ',
      '{',
      '}',
      ',',
      '\\n',
    ]);
  const classItem = () =>
    pick([
      'a-c',
      'A-Z',
      '0-9',
      'x',
      '\\d',
      '\\w',
      '\\s',
      '\\W',
      '[:alpha:]',
      '[:^digit:]',
      '.',
      '-',
      'k',
      '\\x41-\\x43',
      '\\pL',
      ']',
      '\\]',
      '^',
    ]);
  const charClass = () => {
    const negated = chance(0.3) ? '^' : '';
    const items = Array.from({ length: 1 + int(3) }, classItem);
    // `]` is only literal first; elsewhere it would close the class early, which is fine too.
    return `[${negated}${items.join('')}]`;
  };
  const quantifier = () =>
    pick([
      '*',
      '+',
      '?',
      '{2}',
      '{1,}',
      '{0,2}',
      '{1,3}',
      '*?',
      '+?',
      '??',
      '{2,}?',
    ]);

  const atom = (depth: number): { text: string; hasCapture: boolean } => {
    const roll = rnd();
    if (depth < 3 && roll < 0.25) {
      const inner = sequence(depth + 1);
      const kind = pick([
        '(',
        '(',
        '(?:',
        '(?P<n>',
        '(?<m>',
        '(?i:',
        '(?s:',
        '(?-i:',
        '(?U:',
      ]);
      const capture =
        kind === '(' || kind.startsWith('(?P<') || kind.startsWith('(?<');
      return {
        text: `${kind}${inner.text})`,
        hasCapture: capture || inner.hasCapture,
      };
    }
    if (roll < 0.35) return { text: charClass(), hasCapture: false };
    if (roll < 0.45) {
      return {
        text: pick([
          '.',
          '\\d',
          '\\w',
          '\\s',
          '\\D',
          '\\S',
          '\\b',
          '\\B',
          '^',
          '$',
          '\\A',
          '\\z',
          '(?i)',
          '(?m)',
          '(?s)',
          '\\Qa.b\\E',
          '\\pL',
          '\\p{Greek}',
          '\\PN',
          '\\x{e9}',
          '\\101',
        ]),
        hasCapture: false,
      };
    }
    return { text: literal(), hasCapture: false };
  };

  // atom and sequence call each other: sequence is a (hoisted) function declaration.
  function sequence(depth: number): { text: string; hasCapture: boolean } {
    const branches = chance(0.2) ? 2 : 1;
    const parts: string[] = [];
    let hasCapture = false;
    for (let b = 0; b < branches; b++) {
      let text = '';
      for (let i = 0, n = 1 + int(4); i < n; i++) {
        const a = atom(depth);
        hasCapture ||= a.hasCapture;
        let piece = a.text;
        if (chance(0.25)) {
          piece += quantifier();
          if (a.hasCapture) capturesInRepeat = true;
        }
        text += piece;
      }
      parts.push(text);
    }
    return { text: parts.join('|'), hasCapture };
  }

  const invalid = () =>
    pick([
      '(?=a)',
      '(?!a)',
      '(?<=a)',
      '\\1',
      '[z-a]',
      'a**',
      'a{1001}',
      '(',
      ')',
      '[',
      '\\Z',
      '(?P<>a)',
      '\\',
      'a{2}{3}',
      '(?#c)',
      '\\C',
      '[[:foo:]]',
      '\\p{Foo}',
      '*',
      '(?i',
      'x{2,1}',
      '\\8',
      '\\xZ',
    ]);

  const input = () => {
    const alphabet = [
      'a',
      'b',
      'c',
      'A',
      'B',
      '0',
      '1',
      '-',
      '_',
      '.',
      'x',
      'k',
      'K',
      '\u212a',
      's',
      'S',
      '\u017f',
      'é',
      'É',
      'α',
      '\n',
      '\r',
      ' ',
      '{',
      '}',
      ',',
      '$',
      '(',
      '\\',
      '\v',
      '\f',
      '\t',
      '\u00a0',
      '\u{1F600}',
    ];
    return Array.from({ length: int(9) }, () => pick(alphabet)).join('');
  };

  return () => {
    capturesInRepeat = false;
    let pattern = sequence(0).text;
    if (chance(0.1)) {
      const at = int(pattern.length + 1);
      pattern = pattern.slice(0, at) + invalid() + pattern.slice(at);
    }
    return {
      pattern,
      template: pick([
        '$0',
        '$1',
        '${1}x',
        '$2',
        '$n',
        '${m}',
        '$$',
        '$',
        '$1x',
        'v-$1.$2',
        '$n$m',
      ]),
      inputs: Array.from({ length: 6 }, input),
      capturesInRepeat,
    };
  };
}
