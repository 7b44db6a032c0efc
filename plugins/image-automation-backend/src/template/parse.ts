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
  let i = 0;
  let lastLine = 1;
  let vars: string[] = ['$'];
  let rangeDepth = 0;
  const defines = new Map<string, Node & { type: 'list' }>();

  const fail = (msg: string): never => {
    throw new TemplateParseError(`template: ${name}:${lastLine}: ${msg}`);
  };
  let furthest = 0;
  const touch = (at: number): Token => {
    const idx = Math.min(at, tokens.length - 1);
    if (idx >= furthest) {
      furthest = idx;
      lastLine = tokens[idx].line;
    }
    return tokens[idx];
  };
  const next = (): Token => {
    const t = touch(i);
    i++;
    if (t.kind === 'error') fail(t.val);
    return t;
  };
  const backup = () => {
    i--;
  };
  const peek = (): Token => touch(i);
  const nextNonSpace = (): Token => {
    let t = next();
    while (t.kind === 'space') t = next();
    return t;
  };
  const peekNonSpace = (): Token => {
    const save = i;
    const t = nextNonSpace();
    i = save;
    return t;
  };
  const unexpected = (t: Token, context: string): never =>
    fail(`unexpected ${tokenString(t)} in ${context}`);
  const expect = (kind: Token['kind'], context: string): Token => {
    const t = nextNonSpace();
    if (t.kind !== kind) unexpected(t, context);
    return t;
  };
  const isKeyword = (t: Token, word: string) =>
    t.kind === 'keyword' && t.val === word;

  function itemList(): { list: Node & { type: 'list' }; next: EndOrElse } {
    const list: Node & { type: 'list' } = {
      type: 'list',
      pos: peekNonSpace().pos,
      nodes: [],
    };
    while (peekNonSpace().kind !== 'eof') {
      const n = textOrAction();
      if (n.type === 'end' || n.type === 'else')
        return { list, next: n as EndOrElse };
      list.nodes.push(n as Node);
    }
    return fail('unexpected EOF');
  }

  function textOrAction(): Node | EndOrElse {
    const t = nextNonSpace();
    switch (t.kind) {
      case 'text':
        return { type: 'text', pos: t.pos, text: t.val };
      case 'leftDelim':
        return action();
      case 'comment':
        return { type: 'comment', pos: t.pos };
      default:
        return unexpected(t, 'input');
    }
  }

  function action(): Node | EndOrElse {
    const save = i;
    const t = nextNonSpace();
    if (t.kind === 'keyword') {
      switch (t.val) {
        case 'block':
          return blockControl();
        case 'break':
        case 'continue': {
          const close = nextNonSpace();
          if (close.kind !== 'rightDelim') unexpected(close, `{{${t.val}}}`);
          if (rangeDepth === 0) fail(`{{${t.val}}} outside {{range}}`);
          return { type: t.val, pos: t.pos, line: t.line };
        }
        case 'else': {
          const p = peekNonSpace();
          if (isKeyword(p, 'if') || isKeyword(p, 'with')) {
            return { type: 'else', pos: p.pos, line: p.line };
          }
          const close = expect('rightDelim', 'else');
          return { type: 'else', pos: close.pos, line: close.line };
        }
        case 'end': {
          const close = expect('rightDelim', 'end');
          return { type: 'end', pos: close.pos, line: close.line };
        }
        case 'if':
        case 'range':
        case 'with':
          return control(t.val);
        case 'template':
          return templateControl();
        default:
          break;
      }
    }
    i = save;
    const p = peekNonSpace();
    return {
      type: 'action',
      pos: p.pos,
      line: p.line,
      pipe: pipeline('command', 'rightDelim'),
    };
  }

  function templateControl(): Node {
    const t = nextNonSpace();
    if (t.kind !== 'string' && t.kind !== 'rawString')
      unexpected(t, 'template clause');
    const tname = t.kind === 'string' ? unescapeGo(t.val) : t.val.slice(1, -1);
    let pipe: PipeNode | undefined;
    const save = i;
    if (nextNonSpace().kind !== 'rightDelim') {
      i = save;
      pipe = pipeline('template clause', 'rightDelim');
    }
    return { type: 'template', pos: t.pos, line: t.line, name: tname, pipe };
  }

  // {{block "name" pipeline}} body {{end}}: defines "name" as body (unless it is defined with a
  // non-empty body elsewhere) and executes it, as {{define}} followed by {{template}} would.
  function blockControl(): Node {
    const t = nextNonSpace();
    if (t.kind !== 'string' && t.kind !== 'rawString')
      unexpected(t, 'block clause');
    const bname = t.kind === 'string' ? unescapeGo(t.val) : t.val.slice(1, -1);
    const pipe = pipeline('block clause', 'rightDelim');
    const savedVars = vars;
    const savedDepth = rangeDepth;
    vars = ['$'];
    rangeDepth = 0;
    const body = itemList();
    if (body.next.type !== 'end')
      fail(`unexpected ${nodeString(body.next)} in block clause`);
    vars = savedVars;
    rangeDepth = savedDepth;
    define(bname, body.list);
    return { type: 'template', pos: t.pos, line: t.line, name: bname, pipe };
  }

  // Go keeps one definition per name: an empty one gives way, two non-empty ones are an error.
  function define(dname: string, body: Node & { type: 'list' }) {
    const existing = defines.get(dname);
    if (!existing || isEmptyTree(existing)) defines.set(dname, body);
    else if (!isEmptyTree(body))
      fail(`template: multiple definition of template ${goQuote(dname)}`);
  }

  function control(context: 'if' | 'range' | 'with'): ControlNode {
    const saved = vars.length;
    const pipe = pipeline(context, 'rightDelim');
    if (context === 'range') rangeDepth++;
    const first = itemList();
    if (context === 'range') rangeDepth--;
    let elseList: (Node & { type: 'list' }) | undefined;
    if (first.next.type === 'else') {
      const p = peekNonSpace();
      if (
        (context === 'if' && isKeyword(p, 'if')) ||
        (context === 'with' && isKeyword(p, 'with'))
      ) {
        nextNonSpace();
        elseList = {
          type: 'list',
          pos: first.next.pos,
          nodes: [control(context)],
        };
      } else {
        const second = itemList();
        if (second.next.type !== 'end')
          fail(`expected end; found ${nodeString(second.next)}`);
        elseList = second.list;
      }
    }
    vars = vars.slice(0, saved);
    return {
      type: context,
      pos: pipe.pos,
      line: pipe.line,
      pipe,
      list: first.list,
      elseList,
    };
  }

  function pipeline(
    context: string,
    end: 'rightDelim' | 'rightParen',
  ): PipeNode {
    const start = peekNonSpace();
    const pipe: PipeNode = {
      type: 'pipe',
      pos: start.pos,
      line: start.line,
      isAssign: false,
      decl: [],
      cmds: [],
    };
    for (;;) {
      const v = peekNonSpace();
      if (v.kind !== 'variable') break;
      const beforeVariable = i;
      nextNonSpace();
      const nxt = peekNonSpace();
      if (nxt.kind === 'assign' || nxt.kind === 'declare') {
        pipe.isAssign = nxt.kind === 'assign';
        nextNonSpace();
        pipe.decl.push({ type: 'variable', pos: v.pos, ident: [v.val] });
        vars.push(v.val);
      } else if (nxt.kind === 'char' && nxt.val === ',') {
        nextNonSpace();
        pipe.decl.push({ type: 'variable', pos: v.pos, ident: [v.val] });
        vars.push(v.val);
        if (context === 'range' && pipe.decl.length < 2) {
          const k = peekNonSpace().kind;
          if (k === 'variable' || k === 'rightDelim' || k === 'rightParen')
            continue;
          fail('range can only initialize variables');
        }
        fail(`too many declarations in ${context}`);
      } else {
        i = beforeVariable;
      }
      break;
    }
    for (;;) {
      const save = i;
      const t = nextNonSpace();
      if (t.kind === end) {
        checkPipeline(pipe, context);
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
          i = save;
          pipe.cmds.push(command());
          break;
        case 'keyword':
          if (t.val === 'nil') {
            i = save;
            pipe.cmds.push(command());
            break;
          }
          unexpected(t, context);
          break;
        default:
          unexpected(t, context);
      }
    }
  }

  function checkPipeline(pipe: PipeNode, context: string) {
    if (pipe.cmds.length === 0) fail(`missing value for ${context}`);
    pipe.cmds.slice(1).forEach((c, idx) => {
      const t = c.args[0].type;
      if (
        t === 'bool' ||
        t === 'dot' ||
        t === 'nil' ||
        t === 'number' ||
        t === 'string'
      ) {
        fail(`non executable command in pipeline stage ${idx + 2}`);
      }
    });
  }

  function command(): CommandNode {
    const cmd: CommandNode = {
      type: 'command',
      pos: peekNonSpace().pos,
      args: [],
    };
    for (;;) {
      peekNonSpace();
      const op = operand();
      if (op) cmd.args.push(op);
      const t = next();
      if (t.kind === 'space') continue;
      if (t.kind === 'rightDelim' || t.kind === 'rightParen') backup();
      else if (t.kind !== 'pipe') unexpected(t, 'operand');
      break;
    }
    if (cmd.args.length === 0) fail('empty command');
    return cmd;
  }

  function operand(): Node | undefined {
    const node = term();
    if (!node) return undefined;
    if (peek().kind !== 'field') return node;
    const fields: string[] = [];
    const chainPos = peek().pos;
    while (peek().kind === 'field') fields.push(next().val.slice(1));
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
        return fail(`unexpected . after term ${goQuote(nodeString(node))}`);
      default:
        return { type: 'chain', pos: chainPos, node, field: fields };
    }
  }

  function term(): Node | undefined {
    const save = i;
    const t = nextNonSpace();
    switch (t.kind) {
      case 'identifier':
        if (!hasFunction(t.val)) fail(`function ${goQuote(t.val)} not defined`);
        return { type: 'identifier', pos: t.pos, ident: t.val };
      case 'dot':
        return { type: 'dot', pos: t.pos };
      case 'keyword':
        if (t.val === 'nil') return { type: 'nil', pos: t.pos };
        break;
      case 'variable': {
        const parts = t.val.split('.');
        if (!vars.includes(parts[0]))
          fail(`undefined variable ${goQuote(parts[0])}`);
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
          return fail((e as Error).message);
        }
      case 'leftParen':
        return pipeline('parenthesized pipeline', 'rightParen');
      case 'string':
        try {
          return {
            type: 'string',
            pos: t.pos,
            quoted: t.val,
            text: unescapeGo(t.val),
          };
        } catch {
          return fail('invalid syntax');
        }
      case 'rawString':
        return {
          type: 'string',
          pos: t.pos,
          quoted: t.val,
          text: t.val.slice(1, -1).replace(/\r/g, ''),
        };
      default:
        break;
    }
    i = save;
    return undefined;
  }

  function parseDefinition() {
    const t = nextNonSpace();
    if (t.kind !== 'string' && t.kind !== 'rawString')
      unexpected(t, 'define clause');
    const dname = t.kind === 'string' ? unescapeGo(t.val) : t.val.slice(1, -1);
    expect('rightDelim', 'define clause');
    const savedVars = vars;
    vars = ['$'];
    const body = itemList();
    if (body.next.type !== 'end')
      fail(`unexpected ${nodeString(body.next)} in definition`);
    vars = savedVars;
    define(dname, body.list);
  }

  const root: Node & { type: 'list' } = { type: 'list', pos: 0, nodes: [] };
  while (peek().kind !== 'eof') {
    if (peek().kind === 'leftDelim') {
      const save = i;
      next();
      if (isKeyword(nextNonSpace(), 'define')) {
        parseDefinition();
        continue;
      }
      i = save;
    }
    const n = textOrAction();
    if (n.type === 'end' || n.type === 'else')
      fail(`unexpected ${nodeString(n)}`);
    root.nodes.push(n as Node);
  }
  if (tokens[tokens.length - 1].kind === 'error') next();
  // The template is itself one more definition of its own name: a non-empty {{define}} of that
  // name stands in for an empty template, and clashes with a non-empty one.
  const own = defines.get(name);
  if (own && !isEmptyTree(own)) {
    if (!isEmptyTree(root))
      fail(`template: multiple definition of template ${goQuote(name)}`);
    return { name, text, root: own, defines };
  }
  return { name, text, root, defines };
}
