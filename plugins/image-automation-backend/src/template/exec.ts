/**
 * Executor for parsed Go templates: walks the tree against data and functions, producing
 * the output text or an execution error worded as Go's
 * (`template: NAME:LINE:COL: executing "NAME" at <…>: …`).
 */

import { FuncMap, GoFunc, ParamType, paramTypeName } from './funcTypes';
import { GoTime } from '../golib/time';
import {
  GoInt,
  GoStruct,
  GoValue,
  intValue,
  isPlainMap,
  isTrue,
  kindOf,
  printValue,
  sortedKeys,
  compareKeys,
  typeName,
} from '../golib/reflect';
import { goQuote } from '../golib/strconv';
import {
  checkListLength,
  checkStringLength,
  DEFAULT_TEMPLATE_LIMITS,
  TemplateLimits,
  withTemplateLimits,
} from './limits';
import {
  CommandNode,
  ControlNode,
  Node,
  nodeString,
  NumberNode,
  ParsedTemplate,
  PipeNode,
} from './parse';

/** An execution failure, with Go's message. @internal */
export class TemplateExecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemplateExecError';
  }
}

/** What to do when a map has no entry for a field (`missingkey=`). @internal */
export type MissingKey = 'default' | 'zero' | 'error';

/**
 * `undefined` is Go's invalid reflect.Value (no value at all); `null` is a nil interface
 * found in a map or slice. Printing treats both as `<no value>`.
 */
type Value = GoValue | undefined;

const MISSING = Symbol('missing');
type Final = Value | typeof MISSING;

class BreakSignal {}
class ContinueSignal {}

const MAX_DEPTH = 100000;

interface Variable {
  name: string;
  value: Value;
}

function utf8Length(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

/** A function the engine implements itself because it needs unevaluated arguments. */
const LAZY_BUILTINS = new Set(['and', 'or']);

/**
 * Functions whose Go result type is `interface{}`: a field looked up on their result reports
 * `interface {}` as the receiver type in errors, like a value found in a map.
 */
const INTERFACE_RESULTS = new Set([
  'inputs',
  'get',
  'index',
  'first',
  'last',
  'mustFirst',
  'mustLast',
  'default',
  'coalesce',
  'ternary',
  'dig',
  'fromJson',
  'mustFromJson',
  'slice',
  'mustSlice',
  'concat',
]);

/**
 * One execution of a template: the output so far, the variables in scope, the node being
 * evaluated (for error positions) and the budgets. Each node type has its own step
 * (`walkRange`, `evalPipeline`, `evalCommand`, …).
 */
class Execution {
  private readonly out: string[] = [];
  private outLength = 0;
  private ticks = 0;
  private vars: Variable[] = [];
  /** The node being evaluated, whose position and source an error reports. */
  private current: Node | undefined;
  /** The name of the template being executed (changes in `{{template}}`). */
  private execName: string;
  private depth = 0;

  constructor(
    private readonly tmpl: ParsedTemplate,
    private readonly funcs: FuncMap,
    private readonly missingKey: MissingKey,
    private readonly localFuncs: FuncMap | undefined,
    private readonly limits: TemplateLimits,
    private readonly deadline: number,
  ) {
    this.execName = tmpl.name;
  }

  /** Executes the template with `data` as `.` and `$`; returns the output. */
  run(data: Value): string {
    this.vars = [{ name: '$', value: data }];
    try {
      this.walk(data, this.tmpl.root);
    } catch (e) {
      if (e instanceof BreakSignal || e instanceof ContinueSignal) {
        throw new TemplateExecError(
          `template: ${this.tmpl.name}: break or continue outside range`,
        );
      }
      throw e;
    }
    return this.out.join('');
  }

  // ---- errors, variables, output, budget ----------------------------------------------------

  private at(n: Node) {
    this.current = n;
  }

  /** Throws Go's execution error for the current node: `template: NAME:LINE:COL: executing …`. */
  private errorf(msg: string): never {
    const current = this.current;
    if (!current)
      throw new TemplateExecError(`template: ${this.execName}: ${msg}`);
    const pos = current.pos;
    const before = this.tmpl.text.slice(0, pos);
    const nl = before.lastIndexOf('\n');
    const line = 1 + (before.match(/\n/g)?.length ?? 0);
    const col =
      nl === -1 ? utf8Length(before) : utf8Length(before.slice(nl + 1));
    const context = nodeString(current);
    throw new TemplateExecError(
      `template: ${this.tmpl.name}:${line}:${col}: executing ${goQuote(
        this.execName,
      )} at <${context}>: ${msg}`,
    );
  }

  private varValue(name: string): Value {
    const vars = this.vars;
    for (let i = vars.length - 1; i >= 0; i--)
      if (vars[i].name === name) return vars[i].value;
    return this.errorf(`undefined variable: ${name}`);
  }

  private setVar(name: string, value: Value) {
    const vars = this.vars;
    for (let i = vars.length - 1; i >= 0; i--) {
      if (vars[i].name === name) {
        vars[i].value = value;
        return;
      }
    }
    this.errorf(`undefined variable: ${name}`);
  }

  private emit(text: string) {
    this.outLength += text.length;
    if (this.outLength > this.limits.maxOutputLength) {
      this.errorf(
        `template output exceeds the limit of ${this.limits.maxOutputLength} characters`,
      );
    }
    this.out.push(text);
  }

  /** The wall-time budget, checked every few hundred steps (walked nodes, range iterations). */
  private tick() {
    if ((++this.ticks & 0xff) === 0 && Date.now() > this.deadline) {
      this.errorf(
        `template execution exceeded its time limit of ${this.limits.timeoutMs}ms`,
      );
    }
  }

  // ---- statements ---------------------------------------------------------------------------

  private walk(dot: Value, node: Node): void {
    this.at(node);
    this.tick();
    switch (node.type) {
      case 'action': {
        const val = this.evalPipeline(dot, node.pipe);
        if (node.pipe.decl.length === 0) this.emit(printValue(val));
        return;
      }
      case 'break':
        throw new BreakSignal();
      case 'continue':
        throw new ContinueSignal();
      case 'comment':
        return;
      case 'if':
      case 'with':
        this.walkIfOrWith(dot, node);
        return;
      case 'list':
        for (const n of node.nodes) this.walk(dot, n);
        return;
      case 'range':
        this.walkRange(dot, node);
        return;
      case 'template':
        this.walkTemplate(dot, node);
        return;
      case 'text':
        this.emit(node.text);
        return;
      default:
        this.errorf(`unknown node: ${nodeString(node)}`);
    }
  }

  private walkIfOrWith(dot: Value, node: ControlNode) {
    const mark = this.vars.length;
    try {
      const val = this.evalPipeline(dot, node.pipe);
      if (isTrue(val ?? null)) {
        this.walk(node.type === 'with' ? val : dot, node.list);
      } else if (node.elseList) {
        this.walk(dot, node.elseList);
      }
    } finally {
      this.vars = this.vars.slice(0, mark);
    }
  }

  private walkRange(dot: Value, node: ControlNode) {
    this.at(node);
    const mark = this.vars.length;
    try {
      const val = this.evalPipeline(dot, node.pipe);
      const iterated = this.rangeOver(node, val, this.vars.length);
      if (!iterated && node.elseList) this.walk(dot, node.elseList);
    } finally {
      this.vars = this.vars.slice(0, mark);
    }
  }

  /**
   * Runs the body of `{{range}}` once per element of `val` (slice, map in key order, or
   * integer); returns whether there was any element. `iterMark` is the number of variables
   * in scope once the range's own are declared.
   */
  private rangeOver(node: ControlNode, val: Value, iterMark: number): boolean {
    let iterated = false;
    const kind = kindOf(val ?? null);
    if (kind === 'slice') {
      const arr = val as GoValue[];
      for (let i = 0; i < arr.length; i++) {
        iterated = true;
        if (!this.rangeIteration(node, iterMark, new GoInt(BigInt(i)), arr[i]))
          break;
      }
    } else if (kind === 'map') {
      if (val instanceof Map) {
        for (const k of [...val.keys()].sort(compareKeys)) {
          iterated = true;
          if (!this.rangeIteration(node, iterMark, k, val.get(k)!)) break;
        }
      } else {
        const m = val as Record<string, GoValue>;
        for (const k of sortedKeys(m)) {
          iterated = true;
          if (!this.rangeIteration(node, iterMark, k, m[k])) break;
        }
      }
    } else if (kind === 'int64' || kind === 'int') {
      if (node.pipe.decl.length > 1) {
        this.errorf(
          `can't use ${printValue(val)} to iterate over more than one variable`,
        );
      }
      const n = intValue(val as bigint | GoInt);
      for (let i = 0n; i < n; i++) {
        const v = kind === 'int' ? new GoInt(i) : i;
        iterated = true;
        if (!this.rangeIteration(node, iterMark, v, v)) break;
      }
    } else if (kind !== 'invalid') {
      this.errorf(`range can't iterate over ${printValue(val)}`);
    }
    return iterated;
  }

  /** One iteration of `{{range}}`: sets its variables, walks the body; false on `{{break}}`. */
  private rangeIteration(
    node: ControlNode,
    iterMark: number,
    index: Value,
    elem: Value,
  ): boolean {
    this.tick();
    const pipe = node.pipe;
    if (pipe.decl.length > 0) {
      if (pipe.isAssign) {
        if (pipe.decl.length > 1) {
          this.setVar(pipe.decl[0].ident[0], index);
          this.setVar(pipe.decl[1].ident[0], elem);
        } else this.setVar(pipe.decl[0].ident[0], elem);
      } else {
        this.vars[iterMark - 1].value = elem;
        if (pipe.decl.length > 1) this.vars[iterMark - 2].value = index;
      }
    }
    try {
      this.walk(elem, node.list);
    } catch (e) {
      if (e instanceof BreakSignal) return false;
      if (!(e instanceof ContinueSignal)) throw e;
    } finally {
      this.vars = this.vars.slice(0, iterMark);
    }
    return true;
  }

  private walkTemplate(dot: Value, node: Node & { type: 'template' }) {
    this.at(node);
    const body = this.tmpl.defines.get(node.name);
    if (!body) this.errorf(`template ${goQuote(node.name)} not defined`);
    if (++this.depth > MAX_DEPTH)
      this.errorf(`exceeded maximum template depth (${MAX_DEPTH})`);
    const newDot = node.pipe ? this.evalPipeline(dot, node.pipe) : undefined;
    const savedVars = this.vars;
    const savedName = this.execName;
    this.vars = [{ name: '$', value: newDot }];
    this.execName = node.name;
    try {
      this.walk(newDot, body!);
    } finally {
      this.vars = savedVars;
      this.execName = savedName;
      this.depth--;
    }
  }

  // ---- pipelines and commands ---------------------------------------------------------------

  private evalPipeline(dot: Value, pipe: PipeNode): Value {
    this.at(pipe);
    let value: Final = MISSING;
    for (const cmd of pipe.cmds) {
      value = this.evalCommand(dot, cmd, value);
      // Go digs a value out of its interface{} between stages: a nil becomes no value.
      if (value === null) value = undefined;
    }
    const result = value === MISSING ? undefined : value;
    for (const v of pipe.decl) {
      if (pipe.isAssign) this.setVar(v.ident[0], result);
      else this.vars.push({ name: v.ident[0], value: result });
    }
    return result;
  }

  private notAFunction(args: Node[], final: Final) {
    if (args.length > 1 || final !== MISSING) {
      this.errorf(`can't give argument to non-function ${nodeString(args[0])}`);
    }
  }

  private evalCommand(dot: Value, cmd: CommandNode, final: Final): Value {
    const first = cmd.args[0];
    switch (first.type) {
      case 'field':
        return this.evalFieldChain(
          dot,
          dot,
          first,
          first.ident,
          cmd.args,
          final,
          true,
        );
      case 'chain':
        return this.evalChainNode(dot, first, cmd.args, final);
      case 'identifier':
        return this.evalFunction(dot, first, cmd, cmd.args, final);
      case 'pipe':
        this.notAFunction(cmd.args, final);
        return this.evalPipeline(dot, first);
      case 'variable':
        return this.evalVariableNode(dot, first, cmd.args, final);
      default:
        break;
    }
    this.at(first);
    this.notAFunction(cmd.args, final);
    switch (first.type) {
      case 'bool':
        return first.value;
      case 'dot':
        return dot;
      case 'nil':
        return this.errorf('nil is not a command');
      case 'number':
        return this.idealConstant(first);
      case 'string':
        return first.text;
      default:
        return this.errorf(
          `can't evaluate command ${goQuote(nodeString(first))}`,
        );
    }
  }

  private idealConstant(n: NumberNode): Value {
    this.at(n);
    const looksFloat =
      !/^[+-]?0[xX]/.test(n.text) &&
      !n.text.startsWith("'") &&
      /[.eEpP]/.test(n.text);
    if (n.isFloat && looksFloat) return n.float!;
    if (n.isInt) return new GoInt(n.int!);
    return this.errorf(`${n.text} overflows int`);
  }

  // ---- variables, fields and chains ---------------------------------------------------------

  private evalVariableNode(
    dot: Value,
    v: Node & { type: 'variable' },
    args: Node[] | undefined,
    final: Final,
  ): Value {
    this.at(v);
    const value = this.varValue(v.ident[0]);
    if (v.ident.length === 1) {
      if (args) this.notAFunction(args, final);
      return value;
    }
    return this.evalFieldChain(
      dot,
      value,
      v,
      v.ident.slice(1),
      args,
      final,
      false,
    );
  }

  private evalChainNode(
    dot: Value,
    chain: Node & { type: 'chain' },
    args: Node[] | undefined,
    final: Final,
  ): Value {
    this.at(chain);
    if (chain.node.type === 'nil')
      this.errorf(`indirection through explicit nil in ${nodeString(chain)}`);
    const pipe = this.evalArg(dot, undefined, chain.node);
    return this.evalFieldChain(
      dot,
      pipe,
      chain,
      chain.field,
      args,
      final,
      false,
    );
  }

  private evalFieldChain(
    dot: Value,
    receiver: Value,
    node: Node,
    idents: string[],
    args: Node[] | undefined,
    final: Final,
    isFieldNode: boolean,
  ): Value {
    if (isFieldNode) this.at(node);
    let r = receiver;
    let iface =
      node.type === 'chain' &&
      node.node.type === 'identifier' &&
      INTERFACE_RESULTS.has(node.node.ident);
    for (let i = 0; i < idents.length - 1; i++) {
      r = this.evalField(dot, idents[i], node, undefined, MISSING, r, iface);
      // A value found in a map[string]interface{} has the static type interface{}.
      iface = true;
    }
    return this.evalField(
      dot,
      idents[idents.length - 1],
      node,
      args,
      final,
      r,
      iface,
    );
  }

  private evalField(
    dot: Value,
    fieldName: string,
    node: Node,
    args: Node[] | undefined,
    final: Final,
    receiver: Value,
    receiverIsInterface = false,
  ): Value {
    const missingKey = this.missingKey;
    if (receiver === undefined) {
      if (missingKey === 'error')
        this.errorf(`nil data; no entry for key ${goQuote(fieldName)}`);
      return undefined;
    }
    if (receiver === null) {
      return this.errorf(`nil pointer evaluating interface {}.${fieldName}`);
    }
    const hasArgs =
      (args !== undefined && args.length > 1) || final !== MISSING;
    if (receiver instanceof GoStruct)
      return this.evalStructField(
        dot,
        fieldName,
        node,
        args,
        final,
        receiver,
        hasArgs,
      );
    if (isPlainMap(receiver)) {
      if (hasArgs)
        this.errorf(`${fieldName} is not a method but has arguments`);
      if (Object.prototype.hasOwnProperty.call(receiver, fieldName))
        return receiver[fieldName];
      if (missingKey === 'error')
        this.errorf(`map has no entry for key ${goQuote(fieldName)}`);
      return missingKey === 'zero' ? null : undefined;
    }
    const type = receiverIsInterface ? 'interface {}' : typeName(receiver);
    return this.errorf(`can't evaluate field ${fieldName} in type ${type}`);
  }

  /** A method call or field of a Go struct (`.Version.Major`, `$t.Format "2006"`). */
  private evalStructField(
    dot: Value,
    fieldName: string,
    node: Node,
    args: Node[] | undefined,
    final: Final,
    receiver: GoStruct,
    hasArgs: boolean,
  ): Value {
    const method = receiver.methods[fieldName];
    if (method) {
      return this.callGo(
        dot,
        { params: [], variadic: 'any', call: method },
        node,
        fieldName,
        args,
        final,
      );
    }
    if (fieldName in receiver.fields) {
      if (hasArgs)
        this.errorf(
          `${fieldName} has arguments but cannot be invoked as function`,
        );
      return receiver.fields[fieldName];
    }
    return this.errorf(
      `can't evaluate field ${fieldName} in type ${receiver.typeName}`,
    );
  }

  // ---- function calls -----------------------------------------------------------------------

  private evalFunction(
    dot: Value,
    ident: Node & { type: 'identifier' },
    cmd: Node,
    args: Node[] | undefined,
    final: Final,
  ): Value {
    this.at(ident);
    const name = ident.ident;
    if (LAZY_BUILTINS.has(name))
      return this.evalAndOr(dot, name, cmd, args ?? [], final);
    let f;
    const localFuncs = this.localFuncs;
    if (localFuncs && Object.hasOwn(localFuncs, name)) f = localFuncs[name];
    else if (Object.hasOwn(this.funcs, name)) f = this.funcs[name];
    if (!f) return this.errorf(`${goQuote(name)} is not a defined function`);
    return this.callGo(dot, f, cmd, name, args, final);
  }

  /** `and`/`or` evaluate arguments left to right and stop at the deciding one. */
  private evalAndOr(
    dot: Value,
    name: string,
    cmd: Node,
    args: Node[],
    final: Final,
  ): Value {
    const rest = args.slice(1);
    const n = rest.length + (final === MISSING ? 0 : 1);
    if (n < 1)
      this.errorf(
        `wrong number of args for ${name}: want at least 1 got ${rest.length}`,
      );
    let v: Value;
    for (const a of rest) {
      v = this.evalArg(dot, 'any', a);
      if (isTrue(v ?? null) === (name === 'or')) return v;
    }
    if (final !== MISSING) v = final;
    this.at(cmd);
    return v;
  }

  private callGo(
    dot: Value,
    f: GoFunc,
    node: Node,
    name: string,
    args: Node[] | undefined,
    final: Final,
  ): Value {
    const rest = args ? args.slice(1) : [];
    const numIn = rest.length + (final === MISSING ? 0 : 1);
    if (f.variadic) {
      if (numIn < f.params.length) {
        this.errorf(
          `wrong number of args for ${name}: want at least ${f.params.length} got ${rest.length}`,
        );
      }
    } else if (numIn !== f.params.length) {
      this.errorf(
        `wrong number of args for ${name}: want ${f.params.length} got ${numIn}`,
      );
    }
    const typeAt = (i: number): ParamType =>
      i < f.params.length ? f.params[i] : f.variadic!;
    const argv: GoValue[] = [];
    const fieldNil: boolean[] = [];
    rest.forEach((a, i) => {
      const v = this.evalArg(dot, typeAt(i), a) ?? null;
      argv.push(v);
      fieldNil.push(v === null && (a.type === 'field' || a.type === 'chain'));
    });
    if (final !== MISSING)
      argv.push(this.validateType(final, typeAt(numIn - 1), true) ?? null);
    try {
      const result = f.callReflect
        ? f.callReflect(fieldNil, ...argv)
        : f.call(...argv);
      // Any function's result is bounded, whatever built it (e.g. repeated `append`, `cat`).
      if (typeof result === 'string') checkStringLength(result.length, name);
      else if (Array.isArray(result)) checkListLength(result.length, name);
      return result;
    } catch (e) {
      this.at(node);
      if (e instanceof TemplateExecError) throw e;
      const msg = e instanceof Error ? e.message : String(e);
      return this.errorf(`error calling ${name}: ${msg}`);
    }
  }

  // ---- arguments ----------------------------------------------------------------------------

  private validateType(
    value: Value,
    t: ParamType | undefined,
    piped = false,
  ): Value {
    if (t === undefined || t === 'any') return value;
    if (value === undefined || (value === null && piped)) {
      if (t === 'list' || t === 'map') return null;
      return this.errorf(`invalid value; expected ${paramTypeName(t)}`);
    }
    if (value === null) {
      if (t === 'list' || t === 'map') return null;
      return this.errorf(
        `wrong type for value; expected ${paramTypeName(t)}; got interface {}`,
      );
    }
    const k = kindOf(value);
    // Functions receive integers as plain bigints whatever their Go integer type.
    if (t === 'int' && k === 'int') return intValue(value as GoInt);
    const ok =
      (t === 'string' && k === 'string') ||
      (t === 'int64' && k === 'int64') ||
      (t === 'float64' && k === 'float64') ||
      (t === 'bool' && k === 'bool') ||
      (t === 'list' && k === 'slice') ||
      (t === 'map' && isPlainMap(value)) ||
      (t === 'time' && value instanceof GoTime);
    if (!ok) {
      this.errorf(
        `wrong type for value; expected ${paramTypeName(t)}; got ${typeName(
          value,
        )}`,
      );
    }
    return value;
  }

  /** An argument of a function call, converted to the parameter's type `t`. */
  private evalArg(dot: Value, t: ParamType | undefined, n: Node): Value {
    this.at(n);
    switch (n.type) {
      case 'dot':
        return this.validateType(dot, t);
      case 'nil':
        if (t === undefined || t === 'any' || t === 'list' || t === 'map')
          return null;
        return this.errorf(`cannot assign nil to ${paramTypeName(t)}`);
      case 'field':
        return this.validateType(
          this.evalFieldChain(dot, dot, n, n.ident, [n], MISSING, true),
          t,
        );
      case 'variable':
        return this.validateType(
          this.evalVariableNode(dot, n, undefined, MISSING),
          t,
        );
      case 'pipe':
        return this.validateType(this.evalPipeline(dot, n), t, true);
      case 'identifier':
        return this.validateType(
          this.evalFunction(dot, n, n, undefined, MISSING),
          t,
          true,
        );
      case 'chain':
        return this.validateType(
          this.evalChainNode(dot, n, undefined, MISSING),
          t,
        );
      default:
        return this.constantArg(t, n);
    }
  }

  /** A constant argument (bool, number, string) checked against the parameter's type. */
  private constantArg(t: ParamType | undefined, n: Node): Value {
    switch (t) {
      case 'bool':
        if (n.type === 'bool') return n.value;
        return this.errorf(`expected bool; found ${nodeString(n)}`);
      case 'float64':
        if (n.type === 'number' && n.isFloat) return n.float!;
        return this.errorf(`expected float; found ${nodeString(n)}`);
      case 'int':
      case 'int64':
        if (n.type === 'number' && n.isInt) return n.int!;
        return this.errorf(`expected integer; found ${nodeString(n)}`);
      case 'string':
        if (n.type === 'string') return n.text;
        return this.errorf(`expected string; found ${nodeString(n)}`);
      case 'list':
      case 'map':
      case 'time':
        return this.errorf(
          `can't handle ${nodeString(n)} for arg of type ${paramTypeName(t)}`,
        );
      default:
        switch (n.type) {
          case 'bool':
            return n.value;
          case 'number':
            return this.idealConstant(n);
          case 'string':
            return n.text;
          default:
            return this.errorf(
              `can't handle assignment of ${nodeString(
                n,
              )} to empty interface argument`,
            );
        }
    }
  }
}

/**
 * Executes a parsed template against `data` and returns the output.
 * @internal
 */
export function execute(
  tmpl: ParsedTemplate,
  data: Value,
  funcs: FuncMap,
  missingKey: MissingKey,
  localFuncs?: FuncMap,
  limits: TemplateLimits = DEFAULT_TEMPLATE_LIMITS,
  deadline: number = Date.now() + limits.timeoutMs,
): string {
  return withTemplateLimits(limits, () =>
    new Execution(tmpl, funcs, missingKey, localFuncs, limits, deadline).run(
      data,
    ),
  );
}
