/**
 * Parser for Go `text/template`: turns tokens into the same tree Go builds, with Go's
 * parse-error texts (`template: NAME:LINE: …`).
 */

import { goQuote } from '../golib/strconv';
import { lex, Token, tokenString } from './lexer';

/** A node of the parse tree; `pos` is the offset in the source text. @internal */
export type Node =
  | { type: 'list'; pos: number; nodes: Node[] }
  | { type: 'text'; pos: number; text: string }
  | { type: 'comment'; pos: number }
  | { type: 'action'; pos: number; line: number; pipe: PipeNode }
  | PipeNode
  | CommandNode
  | { type: 'identifier'; pos: number; ident: string }
  | { type: 'variable'; pos: number; ident: string[] }
  | { type: 'dot'; pos: number }
  | { type: 'nil'; pos: number }
  | { type: 'field'; pos: number; ident: string[] }
  | { type: 'chain'; pos: number; node: Node; field: string[] }
  | { type: 'bool'; pos: number; value: boolean }
  | NumberNode
  | { type: 'string'; pos: number; quoted: string; text: string }
  | ControlNode
  | { type: 'break'; pos: number; line: number }
  | { type: 'continue'; pos: number; line: number }
  | {
      type: 'template';
      pos: number;
      line: number;
      name: string;
      pipe?: PipeNode;
    };

/** A pipeline with its declared variables. @internal */
export interface PipeNode {
  type: 'pipe';
  pos: number;
  line: number;
  isAssign: boolean;
  decl: { type: 'variable'; pos: number; ident: string[] }[];
  cmds: CommandNode[];
}

/** One command of a pipeline: a function, field or value and its arguments. @internal */
export interface CommandNode {
  type: 'command';
  pos: number;
  args: Node[];
}

/** A numeric constant, with its Go interpretations. @internal */
export interface NumberNode {
  type: 'number';
  pos: number;
  text: string;
  isInt: boolean;
  isFloat: boolean;
  int?: bigint;
  float?: number;
}

/** `if`, `range` and `with`. @internal */
export interface ControlNode {
  type: 'if' | 'range' | 'with';
  pos: number;
  line: number;
  pipe: PipeNode;
  list: Node & { type: 'list' };
  elseList?: Node & { type: 'list' };
}

/** A parsed template: its root and the named templates it defines. @internal */
export interface ParsedTemplate {
  name: string;
  text: string;
  root: Node & { type: 'list' };
  defines: Map<string, Node & { type: 'list' }>;
}

/** A parse failure, with Go's message. @internal */
export class TemplateParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemplateParseError';
  }
}

type EndOrElse = { type: 'end' | 'else'; pos: number; line: number };

/** The Go source form of a node, as used in `at <…>` error contexts. @internal */
export function nodeString(n: Node | EndOrElse): string {
  switch (n.type) {
    case 'list':
      return n.nodes.map(nodeString).join('');
    case 'text':
      return goQuote(n.text);
    case 'comment':
      return '{{/* */}}';
    case 'action':
      return `{{${nodeString(n.pipe)}}}`;
    case 'pipe': {
      let s = '';
      if (n.decl.length > 0) {
        s = `${n.decl.map(nodeString).join(', ')} ${n.isAssign ? '=' : ':='} `;
      }
      return s + n.cmds.map(nodeString).join(' | ');
    }
    case 'command':
      return n.args
        .map(a => (a.type === 'pipe' ? `(${nodeString(a)})` : nodeString(a)))
        .join(' ');
    case 'identifier':
      return n.ident;
    case 'variable':
      return n.ident.join('.');
    case 'dot':
      return '.';
    case 'nil':
      return 'nil';
    case 'field':
      return n.ident.map(i => `.${i}`).join('');
    case 'chain': {
      const inner =
        n.node.type === 'pipe' ? `(${nodeString(n.node)})` : nodeString(n.node);
      return inner + n.field.map(f => `.${f}`).join('');
    }
    case 'bool':
      return n.value ? 'true' : 'false';
    case 'number':
      return n.text;
    case 'string':
      return n.quoted;
    case 'if':
    case 'range':
    case 'with': {
      const els = n.elseList ? `{{else}}${nodeString(n.elseList)}` : '';
      return `{{${n.type} ${nodeString(n.pipe)}}}${nodeString(
        n.list,
      )}${els}{{end}}`;
    }
    case 'break':
      return '{{break}}';
    case 'continue':
      return '{{continue}}';
    case 'template':
      return `{{template ${goQuote(n.name)}${
        n.pipe ? ` ${nodeString(n.pipe)}` : ''
      }}}`;
    case 'end':
      return '{{end}}';
    case 'else':
      return '{{else}}';
    default:
      return '';
  }
}

/** Parses a Go number literal the way `parse.newNumber` classifies it. */
function parseNumber(
  pos: number,
  text: string,
  kind: 'number' | 'charConstant',
): NumberNode {
  if (kind === 'charConstant') {
    const body = text.slice(1, -1);
    const ch = body.startsWith('\\') ? unescapeGo(`"${body}"`) : body;
    const cp = BigInt(ch.codePointAt(0) ?? 0);
    return {
      type: 'number',
      pos,
      text,
      isInt: true,
      isFloat: true,
      int: cp,
      float: Number(cp),
    };
  }
  const node: NumberNode = {
    type: 'number',
    pos,
    text,
    isInt: false,
    isFloat: false,
  };
  if (text.endsWith('i'))
    throw new Error(`illegal number syntax: ${goQuote(text)}`);
  const clean = text.replace(/_/g, '');
  const intMatch =
    /^[+-]?(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)$/.test(
      clean,
    );
  if (intMatch) {
    let body = clean;
    let neg = false;
    if (body[0] === '+' || body[0] === '-') {
      neg = body[0] === '-';
      body = body.slice(1);
    }
    let v: bigint;
    if (/^0[oO]/.test(body)) v = BigInt(`0o${body.slice(2)}`);
    else if (/^0[0-7]+$/.test(body)) v = BigInt(`0o${body.slice(1)}`);
    else v = BigInt(body);
    if (neg) v = -v;
    if (v >= -(2n ** 63n) && v < 2n ** 63n) {
      node.isInt = true;
      node.int = v;
      node.isFloat = true;
      node.float = Number(v);
      return node;
    }
  }
  const f = Number(clean);
  if (
    !Number.isNaN(f) &&
    /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(clean)
  ) {
    node.isFloat = true;
    node.float = f;
    // A float that is an integer is also usable as one (Go: "1e3" is an int constant).
    if (Number.isInteger(f) && Math.abs(f) < 2 ** 63) {
      node.isInt = true;
      node.int = BigInt(f);
    }
    return node;
  }
  throw new Error(`illegal number syntax: ${goQuote(text)}`);
}

/** `strconv.Unquote` for Go interpreted string literals. @internal */
export function unescapeGo(quoted: string): string {
  const body = quoted.slice(1, -1);
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c !== '\\') {
      out += c;
      continue;
    }
    const e = body[++i];
    const simple: Record<string, string> = {
      a: '\x07',
      b: '\b',
      f: '\f',
      n: '\n',
      r: '\r',
      t: '\t',
      v: '\v',
      '\\': '\\',
      '"': '"',
      "'": "'",
    };
    if (e in simple) out += simple[e];
    else if (e === 'x') {
      out += String.fromCharCode(parseInt(body.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (e === 'u') {
      out += String.fromCodePoint(parseInt(body.slice(i + 1, i + 5), 16));
      i += 4;
    } else if (e === 'U') {
      out += String.fromCodePoint(parseInt(body.slice(i + 1, i + 9), 16));
      i += 8;
    } else if (/[0-7]/.test(e)) {
      out += String.fromCharCode(parseInt(body.slice(i, i + 3), 8));
      i += 2;
    } else throw new Error('invalid syntax');
  }
  return out;
}

// Go's unicode.IsSpace, which bytes.TrimSpace uses.
const GO_SPACE =
  /^[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$/;

/** Go's parse.IsEmptyTree: only blank text and comments. */
function isEmptyTree(n: Node): boolean {
  switch (n.type) {
    case 'comment':
      return true;
    case 'text':
      return GO_SPACE.test(n.text);
    case 'list':
      return n.nodes.every(isEmptyTree);
    default:
      return false;
  }
}

const isKeyword = (t: Token, word: string) =>
  t.kind === 'keyword' && t.val === word;

/**
 * The parser's state over the token list: the position, the variables in scope, the depth of
 * `{{range}}` (for `{{break}}`/`{{continue}}`) and the templates defined so far. One method
 * per construct (`pipeline`, `command`, `operand`, `term`, `control`, …).
 */
class Parser {
  private i = 0;
  /** The line of the furthest token looked at, which errors report. */
  private lastLine = 1;
  private furthest = 0;
  private vars: string[] = ['$'];
  private rangeDepth = 0;
  private readonly defines = new Map<string, Node & { type: 'list' }>();

  constructor(
    private readonly name: string,
    private readonly text: string,
    private readonly tokens: Token[],
    private readonly hasFunction: (name: string) => boolean,
  ) {}

  // ---- token access -------------------------------------------------------------------------

  private fail(msg: string): never {
    throw new TemplateParseError(
      `template: ${this.name}:${this.lastLine}: ${msg}`,
    );
  }

  private touch(at: number): Token {
    const tokens = this.tokens;
    const idx = Math.min(at, tokens.length - 1);
    if (idx >= this.furthest) {
      this.furthest = idx;
      this.lastLine = tokens[idx].line;
    }
    return tokens[idx];
  }

  private next(): Token {
    const t = this.touch(this.i);
    this.i++;
    if (t.kind === 'error') this.fail(t.val);
    return t;
  }

  private backup() {
    this.i--;
  }

  private peek(): Token {
    return this.touch(this.i);
  }

  private nextNonSpace(): Token {
    let t = this.next();
    while (t.kind === 'space') t = this.next();
    return t;
  }

  private peekNonSpace(): Token {
    const save = this.i;
    const t = this.nextNonSpace();
    this.i = save;
    return t;
  }

  private unexpected(t: Token, context: string): never {
    return this.fail(`unexpected ${tokenString(t)} in ${context}`);
  }

  private expect(kind: Token['kind'], context: string): Token {
    const t = this.nextNonSpace();
    if (t.kind !== kind) this.unexpected(t, context);
    return t;
  }

  // ---- the template and its definitions -----------------------------------------------------

  /** The whole text: top-level items and `{{define}}`s, then the own-name definition check. */
  parseTemplate(): ParsedTemplate {
    const { name, text, tokens, defines } = this;
    const root: Node & { type: 'list' } = { type: 'list', pos: 0, nodes: [] };
    while (this.peek().kind !== 'eof') {
      if (this.peek().kind === 'leftDelim') {
        const save = this.i;
        this.next();
        if (isKeyword(this.nextNonSpace(), 'define')) {
          this.parseDefinition();
          continue;
        }
        this.i = save;
      }
      const n = this.textOrAction();
      if (n.type === 'end' || n.type === 'else')
        this.fail(`unexpected ${nodeString(n)}`);
      root.nodes.push(n as Node);
    }
    if (tokens[tokens.length - 1].kind === 'error') this.next();
    // The template is itself one more definition of its own name: a non-empty {{define}} of that
    // name stands in for an empty template, and clashes with a non-empty one.
    const own = defines.get(name);
    if (own && !isEmptyTree(own)) {
      if (!isEmptyTree(root))
        this.fail(`template: multiple definition of template ${goQuote(name)}`);
      return { name, text, root: own, defines };
    }
    return { name, text, root, defines };
  }

  private parseDefinition() {
    const t = this.nextNonSpace();
    if (t.kind !== 'string' && t.kind !== 'rawString')
      this.unexpected(t, 'define clause');
    const dname = t.kind === 'string' ? unescapeGo(t.val) : t.val.slice(1, -1);
    this.expect('rightDelim', 'define clause');
    const savedVars = this.vars;
    this.vars = ['$'];
    const body = this.itemList();
    if (body.next.type !== 'end')
      this.fail(`unexpected ${nodeString(body.next)} in definition`);
    this.vars = savedVars;
    this.define(dname, body.list);
  }

  // Go keeps one definition per name: an empty one gives way, two non-empty ones are an error.
  private define(dname: string, body: Node & { type: 'list' }) {
    const existing = this.defines.get(dname);
    if (!existing || isEmptyTree(existing)) this.defines.set(dname, body);
    else if (!isEmptyTree(body))
      this.fail(`template: multiple definition of template ${goQuote(dname)}`);
  }

  // ---- lists, text and actions --------------------------------------------------------------

  private itemList(): { list: Node & { type: 'list' }; next: EndOrElse } {
    const list: Node & { type: 'list' } = {
      type: 'list',
      pos: this.peekNonSpace().pos,
      nodes: [],
    };
    while (this.peekNonSpace().kind !== 'eof') {
      const n = this.textOrAction();
      if (n.type === 'end' || n.type === 'else')
        return { list, next: n as EndOrElse };
      list.nodes.push(n as Node);
    }
    return this.fail('unexpected EOF');
  }

  private textOrAction(): Node | EndOrElse {
    const t = this.nextNonSpace();
    switch (t.kind) {
      case 'text':
        return { type: 'text', pos: t.pos, text: t.val };
      case 'leftDelim':
        return this.action();
      case 'comment':
        return { type: 'comment', pos: t.pos };
      default:
        return this.unexpected(t, 'input');
    }
  }

  private action(): Node | EndOrElse {
    const save = this.i;
    const t = this.nextNonSpace();
    if (t.kind === 'keyword') {
      const keyword = this.keywordAction(t);
      if (keyword) return keyword;
    }
    this.i = save;
    const p = this.peekNonSpace();
    return {
      type: 'action',
      pos: p.pos,
      line: p.line,
      pipe: this.pipeline('command', 'rightDelim'),
    };
  }

  /** An action that starts with keyword `t`; undefined when `t` does not start one (`nil`). */
  private keywordAction(t: Token): Node | EndOrElse | undefined {
    switch (t.val) {
      case 'block':
        return this.blockControl();
      case 'break':
      case 'continue': {
        const close = this.nextNonSpace();
        if (close.kind !== 'rightDelim') this.unexpected(close, `{{${t.val}}}`);
        if (this.rangeDepth === 0) this.fail(`{{${t.val}}} outside {{range}}`);
        return { type: t.val, pos: t.pos, line: t.line };
      }
      case 'else': {
        const p = this.peekNonSpace();
        if (isKeyword(p, 'if') || isKeyword(p, 'with')) {
          return { type: 'else', pos: p.pos, line: p.line };
        }
        const close = this.expect('rightDelim', 'else');
        return { type: 'else', pos: close.pos, line: close.line };
      }
      case 'end': {
        const close = this.expect('rightDelim', 'end');
        return { type: 'end', pos: close.pos, line: close.line };
      }
      case 'if':
      case 'range':
      case 'with':
        return this.control(t.val);
      case 'template':
        return this.templateControl();
      default:
        return undefined;
    }
  }

  // ---- control structures -------------------------------------------------------------------

  private templateControl(): Node {
    const t = this.nextNonSpace();
    if (t.kind !== 'string' && t.kind !== 'rawString')
      this.unexpected(t, 'template clause');
    const tname = t.kind === 'string' ? unescapeGo(t.val) : t.val.slice(1, -1);
    let pipe: PipeNode | undefined;
    const save = this.i;
    if (this.nextNonSpace().kind !== 'rightDelim') {
      this.i = save;
      pipe = this.pipeline('template clause', 'rightDelim');
    }
    return { type: 'template', pos: t.pos, line: t.line, name: tname, pipe };
  }

  // {{block "name" pipeline}} body {{end}}: defines "name" as body (unless it is defined with a
  // non-empty body elsewhere) and executes it, as {{define}} followed by {{template}} would.
  private blockControl(): Node {
    const t = this.nextNonSpace();
    if (t.kind !== 'string' && t.kind !== 'rawString')
      this.unexpected(t, 'block clause');
    const bname = t.kind === 'string' ? unescapeGo(t.val) : t.val.slice(1, -1);
    const pipe = this.pipeline('block clause', 'rightDelim');
    const savedVars = this.vars;
    const savedDepth = this.rangeDepth;
    this.vars = ['$'];
    this.rangeDepth = 0;
    const body = this.itemList();
    if (body.next.type !== 'end')
      this.fail(`unexpected ${nodeString(body.next)} in block clause`);
    this.vars = savedVars;
    this.rangeDepth = savedDepth;
    this.define(bname, body.list);
    return { type: 'template', pos: t.pos, line: t.line, name: bname, pipe };
  }

  private control(context: 'if' | 'range' | 'with'): ControlNode {
    const saved = this.vars.length;
    const pipe = this.pipeline(context, 'rightDelim');
    if (context === 'range') this.rangeDepth++;
    const first = this.itemList();
    if (context === 'range') this.rangeDepth--;
    let elseList: (Node & { type: 'list' }) | undefined;
    if (first.next.type === 'else')
      elseList = this.elseList(context, first.next);
    this.vars = this.vars.slice(0, saved);
    return {
      type: context,
      pos: pipe.pos,
      line: pipe.line,
      pipe,
      list: first.list,
      elseList,
    };
  }

  /** What follows `{{else}}`: a chained `{{else if}}`/`{{else with}}`, or a list up to `{{end}}`. */
  private elseList(
    context: 'if' | 'range' | 'with',
    elseNode: EndOrElse,
  ): Node & { type: 'list' } {
    const p = this.peekNonSpace();
    if (
      (context === 'if' && isKeyword(p, 'if')) ||
      (context === 'with' && isKeyword(p, 'with'))
    ) {
      this.nextNonSpace();
      return {
        type: 'list',
        pos: elseNode.pos,
        nodes: [this.control(context)],
      };
    }
    const second = this.itemList();
    if (second.next.type !== 'end')
      this.fail(`expected end; found ${nodeString(second.next)}`);
    return second.list;
  }

  // ---- pipelines ----------------------------------------------------------------------------

  private pipeline(
    context: string,
    end: 'rightDelim' | 'rightParen',
  ): PipeNode {
    const start = this.peekNonSpace();
    const pipe: PipeNode = {
      type: 'pipe',
      pos: start.pos,
      line: start.line,
      isAssign: false,
      decl: [],
      cmds: [],
    };
    this.pipelineDeclarations(pipe, context);
    for (;;) {
      const save = this.i;
      const t = this.nextNonSpace();
      if (t.kind === end) {
        this.checkPipeline(pipe, context);
        return pipe;
      }
      switch (t.kind) {
        case 'bool':
        case 'charConstant':
        case 'dot':
        case 'field':
        case 'identifier':
        case 'number':
        case 'rawString':
        case 'string':
        case 'variable':
        case 'leftParen':
          this.i = save;
          pipe.cmds.push(this.command());
          break;
        case 'keyword':
          if (t.val === 'nil') {
            this.i = save;
            pipe.cmds.push(this.command());
            break;
          }
          this.unexpected(t, context);
          break;
        default:
          this.unexpected(t, context);
      }
    }
  }

  /** The variables a pipeline declares or assigns (`$x :=`, `$i, $e :=` in a range, `$x =`). */
  private pipelineDeclarations(pipe: PipeNode, context: string) {
    for (;;) {
      const v = this.peekNonSpace();
      if (v.kind !== 'variable') break;
      const beforeVariable = this.i;
      this.nextNonSpace();
      const nxt = this.peekNonSpace();
      if (nxt.kind === 'assign' || nxt.kind === 'declare') {
        pipe.isAssign = nxt.kind === 'assign';
        this.nextNonSpace();
        pipe.decl.push({ type: 'variable', pos: v.pos, ident: [v.val] });
        this.vars.push(v.val);
      } else if (nxt.kind === 'char' && nxt.val === ',') {
        this.nextNonSpace();
        pipe.decl.push({ type: 'variable', pos: v.pos, ident: [v.val] });
        this.vars.push(v.val);
        if (context === 'range' && pipe.decl.length < 2) {
          const k = this.peekNonSpace().kind;
          if (k === 'variable' || k === 'rightDelim' || k === 'rightParen')
            continue;
          this.fail('range can only initialize variables');
        }
        this.fail(`too many declarations in ${context}`);
      } else {
        this.i = beforeVariable;
      }
      break;
    }
  }

  private checkPipeline(pipe: PipeNode, context: string) {
    if (pipe.cmds.length === 0) this.fail(`missing value for ${context}`);
    pipe.cmds.slice(1).forEach((c, idx) => {
      const t = c.args[0].type;
      if (
        t === 'bool' ||
        t === 'dot' ||
        t === 'nil' ||
        t === 'number' ||
        t === 'string'
      ) {
        this.fail(`non executable command in pipeline stage ${idx + 2}`);
      }
    });
  }

  private command(): CommandNode {
    const cmd: CommandNode = {
      type: 'command',
      pos: this.peekNonSpace().pos,
      args: [],
    };
    for (;;) {
      this.peekNonSpace();
      const op = this.operand();
      if (op) cmd.args.push(op);
      const t = this.next();
      if (t.kind === 'space') continue;
      if (t.kind === 'rightDelim' || t.kind === 'rightParen') this.backup();
      else if (t.kind !== 'pipe') this.unexpected(t, 'operand');
      break;
    }
    if (cmd.args.length === 0) this.fail('empty command');
    return cmd;
  }

  // ---- operands -----------------------------------------------------------------------------

  private operand(): Node | undefined {
    const node = this.term();
    if (!node) return undefined;
    if (this.peek().kind !== 'field') return node;
    const fields: string[] = [];
    const chainPos = this.peek().pos;
    while (this.peek().kind === 'field') fields.push(this.next().val.slice(1));
    switch (node.type) {
      case 'field':
        return {
          type: 'field',
          pos: chainPos,
          ident: [...node.ident, ...fields],
        };
      case 'variable':
        return {
          type: 'variable',
          pos: chainPos,
          ident: [...node.ident, ...fields],
        };
      case 'bool':
      case 'string':
      case 'number':
      case 'nil':
      case 'dot':
        return this.fail(
          `unexpected . after term ${goQuote(nodeString(node))}`,
        );
      default:
        return { type: 'chain', pos: chainPos, node, field: fields };
    }
  }

  private term(): Node | undefined {
    const save = this.i;
    const t = this.nextNonSpace();
    switch (t.kind) {
      case 'identifier':
        if (!this.hasFunction(t.val))
          this.fail(`function ${goQuote(t.val)} not defined`);
        return { type: 'identifier', pos: t.pos, ident: t.val };
      case 'dot':
        return { type: 'dot', pos: t.pos };
      case 'keyword':
        if (t.val === 'nil') return { type: 'nil', pos: t.pos };
        break;
      case 'variable': {
        const parts = t.val.split('.');
        if (!this.vars.includes(parts[0]))
          this.fail(`undefined variable ${goQuote(parts[0])}`);
        return { type: 'variable', pos: t.pos, ident: parts };
      }
      case 'field':
        return { type: 'field', pos: t.pos, ident: t.val.slice(1).split('.') };
      case 'bool':
        return { type: 'bool', pos: t.pos, value: t.val === 'true' };
      case 'number':
      case 'charConstant':
        try {
          return parseNumber(t.pos, t.val, t.kind);
        } catch (e) {
          return this.fail((e as Error).message);
        }
      case 'leftParen':
        return this.pipeline('parenthesized pipeline', 'rightParen');
      case 'string':
      case 'rawString':
        return this.stringTerm(t);
      default:
        break;
    }
    this.i = save;
    return undefined;
  }

  private stringTerm(t: Token): Node {
    if (t.kind === 'rawString') {
      return {
        type: 'string',
        pos: t.pos,
        quoted: t.val,
        text: t.val.slice(1, -1).replace(/\r/g, ''),
      };
    }
    try {
      return {
        type: 'string',
        pos: t.pos,
        quoted: t.val,
        text: unescapeGo(t.val),
      };
    } catch {
      return this.fail('invalid syntax');
    }
  }
}

/**
 * Parses template text. `hasFunction` tells which identifiers are functions (Go checks this
 * at parse time: `function "now" not defined`).
 * @internal
 */
export function parse(
  name: string,
  text: string,
  delims: [string, string],
  hasFunction: (name: string) => boolean,
): ParsedTemplate {
  const tokens = lex(text, delims[0], delims[1]);
  return new Parser(name, text, tokens, hasFunction).parseTemplate();
}
