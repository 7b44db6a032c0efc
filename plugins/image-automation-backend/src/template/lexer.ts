/**
 * Tokeniser for Go `text/template` source with configurable delimiters.
 *
 * Mirrors the token set and the error texts of Go's lexer so parse errors read the same as Flux's.
 */

import { goQuote } from '../golib/strconv';

/** Token kinds of the template language. @internal */
export type TokenKind =
  | 'error'
  | 'bool'
  | 'char'
  | 'charConstant'
  | 'comment'
  | 'assign'
  | 'declare'
  | 'eof'
  | 'field'
  | 'identifier'
  | 'leftDelim'
  | 'leftParen'
  | 'number'
  | 'pipe'
  | 'rawString'
  | 'rightDelim'
  | 'rightParen'
  | 'space'
  | 'string'
  | 'text'
  | 'variable'
  | 'dot'
  | 'keyword';

/** One token: its kind, text, byte-independent offset (UTF-16 index) and 1-based line. @internal */
export interface Token {
  kind: TokenKind;
  val: string;
  pos: number;
  line: number;
}

const KEYWORDS = new Set([
  'block',
  'break',
  'continue',
  'define',
  'else',
  'end',
  'if',
  'range',
  'nil',
  'template',
  'with',
]);

const TRIM_MARKER = '-';

function isSpace(c: string): boolean {
  return c === ' ' || c === '\t' || c === '\r' || c === '\n';
}

function isAlphaNumeric(c: string): boolean {
  return c === '_' || /^[\p{L}\p{Nd}]$/u.test(c);
}

/** Renders a token the way Go's `item.String()` does, for "unexpected …" messages. @internal */
export function tokenString(t: Token): string {
  if (t.kind === 'eof') return 'EOF';
  if (t.kind === 'error') return t.val;
  if (t.kind === 'keyword' || t.kind === 'dot') return `<${t.val}>`;
  if ([...t.val].length > 10)
    return `${goQuote([...t.val].slice(0, 10).join(''))}...`;
  return goQuote(t.val);
}

/**
 * Splits template text into tokens. Lexing errors become an `error` token, after which
 * lexing stops (as in Go).
 * @internal
 */
export function lex(
  input: string,
  leftDelim: string,
  rightDelim: string,
): Token[] {
  const tokens: Token[] = [];
  let pos = 0;
  let start = 0;
  let line = 1;
  let startLine = 1;
  let parenDepth = 0;
  let insideAction = false;
  let failed = false;

  const emit = (kind: TokenKind, val = input.slice(start, pos)) => {
    tokens.push({ kind, val, pos: start, line: startLine });
    start = pos;
    startLine = line;
  };
  const ignore = () => {
    for (let i = start; i < pos; i++) if (input[i] === '\n') line++;
    start = pos;
    startLine = line;
  };
  const advance = (n: number) => {
    for (let i = pos; i < pos + n && i < input.length; i++) {
      if (input[i] === '\n') line++;
    }
    pos += n;
  };
  const error = (msg: string) => {
    tokens.push({ kind: 'error', val: msg, pos: start, line: startLine });
    failed = true;
  };
  const atTrimmedRightDelim = (): { delim: boolean; trim: boolean } => {
    if (input.startsWith(rightDelim, pos)) {
      return { delim: true, trim: false };
    }
    if (
      isSpace(input[pos] ?? '') &&
      input[pos + 1] === TRIM_MARKER &&
      input.startsWith(rightDelim, pos + 2)
    ) {
      return { delim: true, trim: true };
    }
    return { delim: false, trim: false };
  };
  const leftTrimLength = (s: string): number => {
    let i = 0;
    while (i < s.length && isSpace(s[i])) i++;
    return i;
  };
  const rightTrimLength = (s: string): number => {
    let i = s.length;
    while (i > 0 && isSpace(s[i - 1])) i--;
    return s.length - i;
  };

  const lexRightDelim = (trim: boolean) => {
    if (trim) {
      advance(2); // space and trim marker
      ignore();
    }
    advance(rightDelim.length);
    emit('rightDelim');
    if (trim) {
      advance(leftTrimLength(input.slice(pos)));
      ignore();
    }
    insideAction = false;
  };

  const lexComment = (): boolean => {
    pos += 2; // "/*"
    const x = input.indexOf('*/', pos);
    if (x < 0) {
      error('unclosed comment');
      return false;
    }
    advance(x + 2 - pos);
    const r = atTrimmedRightDelim();
    if (!r.delim) {
      error('comment ends before closing delimiter');
      return false;
    }
    emit('comment');
    if (r.trim) {
      advance(2);
      ignore();
    }
    advance(rightDelim.length);
    ignore();
    if (r.trim) {
      advance(leftTrimLength(input.slice(pos)));
      ignore();
    }
    insideAction = false;
    return true;
  };

  const lexLeftDelim = (): boolean => {
    advance(leftDelim.length);
    const trimSpace =
      input[pos] === TRIM_MARKER && isSpace(input[pos + 1] ?? '');
    const afterMarker = trimSpace ? 2 : 0;
    if (input.startsWith('/*', pos + afterMarker)) {
      pos += afterMarker;
      ignore();
      return lexComment();
    }
    emit('leftDelim');
    pos += afterMarker;
    ignore();
    insideAction = true;
    parenDepth = 0;
    return true;
  };

  const lexText = (): boolean => {
    const x = input.indexOf(leftDelim, pos);
    if (x >= 0) {
      let end = x;
      const trimSpace =
        input[x + leftDelim.length] === TRIM_MARKER &&
        isSpace(input[x + leftDelim.length + 1] ?? '');
      if (trimSpace) end = x - rightTrimLength(input.slice(pos, x));
      advance(end - pos);
      if (pos > start) emit('text');
      advance(x - pos);
      ignore();
      return true;
    }
    advance(input.length - pos);
    if (pos > start) emit('text');
    tokens.push({ kind: 'eof', val: '', pos, line });
    return false;
  };

  const scanNumber = (): boolean => {
    let digits = '0123456789_';
    if (input[pos] === '+' || input[pos] === '-') pos++;
    if (input[pos] === '0') {
      const next = input[pos + 1];
      if (next === 'x' || next === 'X') {
        pos += 2;
        digits = '0123456789abcdefABCDEF_';
      } else if (next === 'o' || next === 'O') {
        pos += 2;
        digits = '01234567_';
      } else if (next === 'b' || next === 'B') {
        pos += 2;
        digits = '01_';
      }
    }
    while (pos < input.length && digits.includes(input[pos])) pos++;
    if (input[pos] === '.') {
      pos++;
      while (pos < input.length && digits.includes(input[pos])) pos++;
    }
    if (digits.length === 11 && (input[pos] === 'e' || input[pos] === 'E')) {
      pos++;
      if (input[pos] === '+' || input[pos] === '-') pos++;
      while (pos < input.length && '0123456789_'.includes(input[pos])) pos++;
    }
    if (digits.length === 23 && (input[pos] === 'p' || input[pos] === 'P')) {
      pos++;
      if (input[pos] === '+' || input[pos] === '-') pos++;
      while (pos < input.length && '0123456789_'.includes(input[pos])) pos++;
    }
    if (input[pos] === 'i') pos++;
    return !(pos < input.length && isAlphaNumeric(input[pos]));
  };

  const lexInsideAction = (): boolean => {
    const r = atTrimmedRightDelim();
    if (r.delim) {
      if (parenDepth === 0) {
        lexRightDelim(r.trim);
        return true;
      }
      error('unclosed left paren');
      return false;
    }
    if (pos >= input.length) {
      error('unclosed action');
      return false;
    }
    const c = input[pos];
    if (isSpace(c)) {
      let spaces = 0;
      while (pos < input.length && isSpace(input[pos])) {
        advance(1);
        spaces++;
      }
      if (input[pos] === TRIM_MARKER && input.startsWith(rightDelim, pos + 1)) {
        // The last space belongs to a trim-marked closing delimiter.
        pos--;
        if (input[pos] === '\n') line--;
        if (spaces === 1) return true;
      }
      emit('space');
      return true;
    }
    if (c === '=') {
      pos++;
      emit('assign');
      return true;
    }
    if (c === ':') {
      if (input[pos + 1] !== '=') {
        pos++;
        error('expected :=');
        return false;
      }
      pos += 2;
      emit('declare');
      return true;
    }
    if (c === '|') {
      pos++;
      emit('pipe');
      return true;
    }
    if (c === '"') {
      pos++;
      for (;;) {
        let ch = input[pos++];
        if (ch === '\\') {
          ch = input[pos++];
          if (ch !== undefined && ch !== '\n') continue;
        }
        if (ch === undefined || ch === '\n' || ch === '\\') {
          error('unterminated quoted string');
          return false;
        }
        if (ch === '"') break;
      }
      emit('string');
      return true;
    }
    if (c === '`') {
      const x = input.indexOf('`', pos + 1);
      if (x < 0) {
        error('unterminated raw quoted string');
        return false;
      }
      advance(x + 1 - pos);
      emit('rawString');
      return true;
    }
    if (c === '$') {
      pos++;
      return lexFieldOrVariable('variable');
    }
    if (c === "'") {
      pos++;
      for (;;) {
        const ch = input[pos];
        if (ch === '\\') {
          pos += 2;
          continue;
        }
        if (ch === undefined || ch === '\n') {
          error('unterminated character constant');
          return false;
        }
        pos++;
        if (ch === "'") break;
      }
      emit('charConstant');
      return true;
    }
    if (c === '.' && !/[0-9]/.test(input[pos + 1] ?? '')) {
      pos++;
      return lexFieldOrVariable('field');
    }
    if (c === '+' || c === '-' || /[0-9.]/.test(c)) {
      if (!scanNumber()) {
        pos++;
        error(`bad number syntax: ${goQuote(input.slice(start, pos))}`);
        return false;
      }
      emit('number');
      return true;
    }
    if (isAlphaNumeric(c)) {
      while (pos < input.length && isAlphaNumeric(input[pos])) pos++;
      const word = input.slice(start, pos);
      if (!atTerminator()) {
        error(`bad character ${goRune(input[pos])}`);
        return false;
      }
      if (KEYWORDS.has(word)) emit('keyword');
      else if (word === 'true' || word === 'false') emit('bool');
      else emit('identifier');
      return true;
    }
    if (c === '(') {
      pos++;
      emit('leftParen');
      parenDepth++;
      return true;
    }
    if (c === ')') {
      pos++;
      parenDepth--;
      if (parenDepth < 0) {
        error('unexpected right paren');
        return false;
      }
      emit('rightParen');
      return true;
    }
    const cp = c.codePointAt(0)!;
    if (cp <= 0x7f && /[!-/:-@[-`{-~]/.test(c)) {
      pos++;
      emit('char');
      return true;
    }
    error(
      `unrecognized character in action: ${goRune(
        String.fromCodePoint(input.codePointAt(pos)!),
      )}`,
    );
    return false;
  };

  function lexFieldOrVariable(kind: 'field' | 'variable'): boolean {
    if (atTerminator()) {
      emit(kind === 'variable' ? 'variable' : 'dot');
      return true;
    }
    while (pos < input.length && isAlphaNumeric(input[pos])) pos++;
    if (!atTerminator()) {
      error(`bad character ${goRune(input[pos])}`);
      return false;
    }
    emit(kind);
    return true;
  }

  function atTerminator(): boolean {
    const r = input[pos];
    if (r === undefined || isSpace(r)) return true;
    if ('.,|:)('.includes(r)) return true;
    return input.startsWith(rightDelim, pos);
  }

  for (;;) {
    if (failed) break;
    if (!insideAction) {
      if (!lexText()) break;
      if (!lexLeftDelim()) break;
    } else if (!lexInsideAction()) break;
  }
  return tokens;
}

/** Go's `%#U` for a rune, as used in lexer errors. */
function goRune(ch: string | undefined): string {
  if (ch === undefined) return 'U+FFFD';
  const cp = ch.codePointAt(0)!;
  const hex = cp.toString(16).toUpperCase().padStart(4, '0');
  return `U+${hex} '${ch}'`;
}
