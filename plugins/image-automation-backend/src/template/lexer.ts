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
 * The lexer's state: the token being scanned runs from `start` to `pos` (UTF-16 offsets),
 * `line` is the line at `pos` and `startLine` the line at `start`. Outside an action it
 * alternates `lexText` and `lexLeftDelim`; inside, `lexInsideAction` reads one token per call.
 * Every step returns false when lexing stops (an error token was emitted).
 */
class Lexer {
  readonly tokens: Token[] = [];
  private pos = 0;
  private start = 0;
  private line = 1;
  private startLine = 1;
  private parenDepth = 0;
  private insideAction = false;
  private failed = false;

  constructor(
    private readonly input: string,
    private readonly leftDelim: string,
    private readonly rightDelim: string,
  ) {}

  run(): Token[] {
    for (;;) {
      if (this.failed) break;
      if (!this.insideAction) {
        if (!this.lexText()) break;
        if (!this.lexLeftDelim()) break;
      } else if (!this.lexInsideAction()) break;
    }
    return this.tokens;
  }

  // ---- primitives ---------------------------------------------------------------------------

  private emit(kind: TokenKind, val = this.input.slice(this.start, this.pos)) {
    this.tokens.push({ kind, val, pos: this.start, line: this.startLine });
    this.start = this.pos;
    this.startLine = this.line;
  }

  /** Skips the text since `start`, counting its lines. */
  private ignore() {
    const input = this.input;
    for (let i = this.start; i < this.pos; i++)
      if (input[i] === '\n') this.line++;
    this.start = this.pos;
    this.startLine = this.line;
  }

  /** Moves `pos` on by `n`, counting the lines passed. */
  private advance(n: number) {
    const input = this.input;
    const pos = this.pos;
    for (let i = pos; i < pos + n && i < input.length; i++) {
      if (input[i] === '\n') this.line++;
    }
    this.pos = pos + n;
  }

  private error(msg: string) {
    this.tokens.push({
      kind: 'error',
      val: msg,
      pos: this.start,
      line: this.startLine,
    });
    this.failed = true;
  }

  /** Whether a right delimiter (`}}`, or ` -}}` which trims what follows) starts at `pos`. */
  private atTrimmedRightDelim(): { delim: boolean; trim: boolean } {
    const { input, pos, rightDelim } = this;
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
  }

  /** Whether the word or field ending at `pos` is properly ended. */
  private atTerminator(): boolean {
    const r = this.input[this.pos];
    if (r === undefined || isSpace(r)) return true;
    if ('.,|:)('.includes(r)) return true;
    return this.input.startsWith(this.rightDelim, this.pos);
  }

  // ---- outside actions ----------------------------------------------------------------------

  /** Text up to the next left delimiter (trimmed before `{{- `), or the rest and EOF. */
  private lexText(): boolean {
    const { input, leftDelim } = this;
    const x = input.indexOf(leftDelim, this.pos);
    if (x >= 0) {
      let end = x;
      const trimSpace =
        input[x + leftDelim.length] === TRIM_MARKER &&
        isSpace(input[x + leftDelim.length + 1] ?? '');
      if (trimSpace) end = x - rightTrimLength(input.slice(this.pos, x));
      this.advance(end - this.pos);
      if (this.pos > this.start) this.emit('text');
      this.advance(x - this.pos);
      this.ignore();
      return true;
    }
    this.advance(input.length - this.pos);
    if (this.pos > this.start) this.emit('text');
    this.tokens.push({ kind: 'eof', val: '', pos: this.pos, line: this.line });
    return false;
  }

  private lexLeftDelim(): boolean {
    const input = this.input;
    this.advance(this.leftDelim.length);
    const trimSpace =
      input[this.pos] === TRIM_MARKER && isSpace(input[this.pos + 1] ?? '');
    const afterMarker = trimSpace ? 2 : 0;
    if (input.startsWith('/*', this.pos + afterMarker)) {
      this.pos += afterMarker;
      this.ignore();
      return this.lexComment();
    }
    this.emit('leftDelim');
    this.pos += afterMarker;
    this.ignore();
    this.insideAction = true;
    this.parenDepth = 0;
    return true;
  }

  private lexComment(): boolean {
    this.pos += 2; // "/*"
    const x = this.input.indexOf('*/', this.pos);
    if (x < 0) {
      this.error('unclosed comment');
      return false;
    }
    this.advance(x + 2 - this.pos);
    const r = this.atTrimmedRightDelim();
    if (!r.delim) {
      this.error('comment ends before closing delimiter');
      return false;
    }
    this.emit('comment');
    if (r.trim) {
      this.advance(2);
      this.ignore();
    }
    this.advance(this.rightDelim.length);
    this.ignore();
    if (r.trim) {
      this.advance(leftTrimLength(this.input.slice(this.pos)));
      this.ignore();
    }
    this.insideAction = false;
    return true;
  }

  private lexRightDelim(trim: boolean) {
    if (trim) {
      this.advance(2); // space and trim marker
      this.ignore();
    }
    this.advance(this.rightDelim.length);
    this.emit('rightDelim');
    if (trim) {
      this.advance(leftTrimLength(this.input.slice(this.pos)));
      this.ignore();
    }
    this.insideAction = false;
  }

  // ---- inside actions -----------------------------------------------------------------------

  /** One token inside an action, chosen by its first character. */
  private lexInsideAction(): boolean {
    const r = this.atTrimmedRightDelim();
    if (r.delim) {
      if (this.parenDepth === 0) {
        this.lexRightDelim(r.trim);
        return true;
      }
      this.error('unclosed left paren');
      return false;
    }
    const input = this.input;
    if (this.pos >= input.length) {
      this.error('unclosed action');
      return false;
    }
    const c = input[this.pos];
    if (isSpace(c)) return this.lexSpace();
    switch (c) {
      case '=':
        return this.lexSingle('assign');
      case ':':
        return this.lexDeclare();
      case '|':
        return this.lexSingle('pipe');
      case '"':
        return this.lexQuote();
      case '`':
        return this.lexRawQuote();
      case '$':
        this.pos++;
        return this.lexFieldOrVariable('variable');
      case "'":
        return this.lexCharConstant();
      default:
        break;
    }
    if (c === '.' && !/[0-9]/.test(input[this.pos + 1] ?? '')) {
      this.pos++;
      return this.lexFieldOrVariable('field');
    }
    if (c === '+' || c === '-' || /[0-9.]/.test(c)) return this.lexNumber();
    if (isAlphaNumeric(c)) return this.lexIdentifier();
    if (c === '(') {
      this.lexSingle('leftParen');
      this.parenDepth++;
      return true;
    }
    if (c === ')') return this.lexRightParen();
    return this.lexPunctuation(c);
  }

  /** A one-character token. */
  private lexSingle(kind: TokenKind): boolean {
    this.pos++;
    this.emit(kind);
    return true;
  }

  /** A run of spaces; the last belongs to a following ` -}}`, and a lone one is no token. */
  private lexSpace(): boolean {
    const input = this.input;
    let spaces = 0;
    while (this.pos < input.length && isSpace(input[this.pos])) {
      this.advance(1);
      spaces++;
    }
    if (
      input[this.pos] === TRIM_MARKER &&
      input.startsWith(this.rightDelim, this.pos + 1)
    ) {
      // The last space belongs to a trim-marked closing delimiter.
      this.pos--;
      if (input[this.pos] === '\n') this.line--;
      if (spaces === 1) return true;
    }
    this.emit('space');
    return true;
  }

  private lexDeclare(): boolean {
    if (this.input[this.pos + 1] !== '=') {
      this.pos++;
      this.error('expected :=');
      return false;
    }
    this.pos += 2;
    this.emit('declare');
    return true;
  }

  /** A `"…"` string: backslash escapes, no newline. */
  private lexQuote(): boolean {
    const input = this.input;
    this.pos++;
    for (;;) {
      let ch = input[this.pos++];
      if (ch === '\\') {
        ch = input[this.pos++];
        if (ch !== undefined && ch !== '\n') continue;
      }
      if (ch === undefined || ch === '\n' || ch === '\\') {
        this.error('unterminated quoted string');
        return false;
      }
      if (ch === '"') break;
    }
    this.emit('string');
    return true;
  }

  /** A `` `…` `` raw string, which may span lines. */
  private lexRawQuote(): boolean {
    const x = this.input.indexOf('`', this.pos + 1);
    if (x < 0) {
      this.error('unterminated raw quoted string');
      return false;
    }
    this.advance(x + 1 - this.pos);
    this.emit('rawString');
    return true;
  }

  private lexCharConstant(): boolean {
    const input = this.input;
    this.pos++;
    for (;;) {
      const ch = input[this.pos];
      if (ch === '\\') {
        this.pos += 2;
        continue;
      }
      if (ch === undefined || ch === '\n') {
        this.error('unterminated character constant');
        return false;
      }
      this.pos++;
      if (ch === "'") break;
    }
    this.emit('charConstant');
    return true;
  }

  private lexNumber(): boolean {
    if (!this.scanNumber()) {
      this.pos++;
      this.error(
        `bad number syntax: ${goQuote(this.input.slice(this.start, this.pos))}`,
      );
      return false;
    }
    this.emit('number');
    return true;
  }

  /** Go's `scanNumber`: sign, base prefix, digits, fraction, exponent, imaginary suffix. */
  private scanNumber(): boolean {
    const input = this.input;
    let pos = this.pos;
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
    this.pos = pos;
    return !(pos < input.length && isAlphaNumeric(input[pos]));
  }

  /** A keyword, `true`/`false`, or a function name. */
  private lexIdentifier(): boolean {
    const input = this.input;
    while (this.pos < input.length && isAlphaNumeric(input[this.pos]))
      this.pos++;
    const word = input.slice(this.start, this.pos);
    if (!this.atTerminator()) {
      this.error(`bad character ${goRune(input[this.pos])}`);
      return false;
    }
    if (KEYWORDS.has(word)) this.emit('keyword');
    else if (word === 'true' || word === 'false') this.emit('bool');
    else this.emit('identifier');
    return true;
  }

  private lexRightParen(): boolean {
    this.pos++;
    this.parenDepth--;
    if (this.parenDepth < 0) {
      this.error('unexpected right paren');
      return false;
    }
    this.emit('rightParen');
    return true;
  }

  /** Other ASCII punctuation is a `char` token (`,` in range declarations); the rest an error. */
  private lexPunctuation(c: string): boolean {
    const cp = c.codePointAt(0)!;
    if (cp <= 0x7f && /[!-/:-@[-`{-~]/.test(c)) {
      this.pos++;
      this.emit('char');
      return true;
    }
    this.error(
      `unrecognized character in action: ${goRune(
        String.fromCodePoint(this.input.codePointAt(this.pos)!),
      )}`,
    );
    return false;
  }

  /** `$name` or `.Field` (after its first character); a bare `$` or `.` when nothing follows. */
  private lexFieldOrVariable(kind: 'field' | 'variable'): boolean {
    if (this.atTerminator()) {
      this.emit(kind === 'variable' ? 'variable' : 'dot');
      return true;
    }
    const input = this.input;
    while (this.pos < input.length && isAlphaNumeric(input[this.pos]))
      this.pos++;
    if (!this.atTerminator()) {
      this.error(`bad character ${goRune(input[this.pos])}`);
      return false;
    }
    this.emit(kind);
    return true;
  }
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
  return new Lexer(input, leftDelim, rightDelim).run();
}

function leftTrimLength(s: string): number {
  let i = 0;
  while (i < s.length && isSpace(s[i])) i++;
  return i;
}

function rightTrimLength(s: string): number {
  let i = s.length;
  while (i > 0 && isSpace(s[i - 1])) i--;
  return s.length - i;
}

/** Go's `%#U` for a rune, as used in lexer errors. */
function goRune(ch: string | undefined): string {
  if (ch === undefined) return 'U+FFFD';
  const cp = ch.codePointAt(0)!;
  const hex = cp.toString(16).toUpperCase().padStart(4, '0');
  return `U+${hex} '${ch}'`;
}
