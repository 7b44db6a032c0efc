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
    executeWithin(tmpl, data, funcs, missingKey, localFuncs, limits, deadline),
  );
}

function executeWithin(
  tmpl: ParsedTemplate,
  data: Value,
  funcs: FuncMap,
  missingKey: MissingKey,
  localFuncs: FuncMap | undefined,
  limits: TemplateLimits,
  deadline: number,
): string {
  const out: string[] = [];
  let outLength = 0;
  let ticks = 0;
  let vars: Variable[] = [{ name: '$', value: data }];
  let current: Node | undefined;
  let execName = tmpl.name;
  let depth = 0;

  const at = (n: Node) => {
    current = n;
  };

  const errorf = (msg: string): never => {
    if (!current) throw new TemplateExecError(`template: ${execName}: ${msg}`);
    const pos = current.pos;
    const before = tmpl.text.slice(0, pos);
    const nl = before.lastIndexOf('\n');
    const line = 1 + (before.match(/\n/g)?.length ?? 0);
    const col =
      nl === -1 ? utf8Length(before) : utf8Length(before.slice(nl + 1));
    const context = nodeString(current);
    throw new TemplateExecError(
      `template: ${tmpl.name}:${line}:${col}: executing ${goQuote(
        execName,
      )} at <${context}>: ${msg}`,
    );
  };

  const varValue = (name: string): Value => {
    for (let i = vars.length - 1; i >= 0; i--)
      if (vars[i].name === name) return vars[i].value;
    return errorf(`undefined variable: ${name}`);
  };
  const setVar = (name: string, value: Value) => {
    for (let i = vars.length - 1; i >= 0; i--) {
      if (vars[i].name === name) {
        vars[i].value = value;
        return;
      }
    }
    errorf(`undefined variable: ${name}`);
  };

  const emit = (text: string) => {
    outLength += text.length;
    if (outLength > limits.maxOutputLength) {
      errorf(
        `template output exceeds the limit of ${limits.maxOutputLength} characters`,
      );
    }
    out.push(text);
  };

  // The wall-time budget, checked every few hundred steps (walked nodes, range iterations).
  const tick = () => {
    if ((++ticks & 0xff) === 0 && Date.now() > deadline) {
      errorf(
        `template execution exceeded its time limit of ${limits.timeoutMs}ms`,
      );
    }
  };

  function walk(dot: Value, node: Node): void {
    at(node);
    tick();
    switch (node.type) {
      case 'action': {
        const val = evalPipeline(dot, node.pipe);
        if (node.pipe.decl.length === 0) emit(printValue(val));
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
        walkIfOrWith(dot, node);
        return;
      case 'list':
        for (const n of node.nodes) walk(dot, n);
        return;
      case 'range':
        walkRange(dot, node);
        return;
      case 'template':
        walkTemplate(dot, node);
        return;
      case 'text':
        emit(node.text);
        return;
      default:
        errorf(`unknown node: ${nodeString(node)}`);
    }
  }

  function walkIfOrWith(dot: Value, node: ControlNode) {
    const mark = vars.length;
    try {
      const val = evalPipeline(dot, node.pipe);
      if (isTrue(val ?? null)) {
        walk(node.type === 'with' ? val : dot, node.list);
      } else if (node.elseList) {
        walk(dot, node.elseList);
      }
    } finally {
      vars = vars.slice(0, mark);
    }
  }

  function walkRange(dot: Value, node: ControlNode) {
    at(node);
    const mark = vars.length;
    try {
      const val = evalPipeline(dot, node.pipe);
      const iterMark = vars.length;
      const oneIteration = (index: Value, elem: Value): boolean => {
        tick();
        if (node.pipe.decl.length > 0) {
          if (node.pipe.isAssign) {
            if (node.pipe.decl.length > 1) {
              setVar(node.pipe.decl[0].ident[0], index);
              setVar(node.pipe.decl[1].ident[0], elem);
            } else setVar(node.pipe.decl[0].ident[0], elem);
          } else {
            vars[iterMark - 1].value = node.pipe.decl.length > 1 ? elem : elem;
            if (node.pipe.decl.length > 1) vars[iterMark - 2].value = index;
          }
        }
        try {
          walk(elem, node.list);
        } catch (e) {
          if (e instanceof BreakSignal) return false;
          if (!(e instanceof ContinueSignal)) throw e;
        } finally {
          vars = vars.slice(0, iterMark);
        }
        return true;
      };
      let iterated = false;
      const kind = kindOf(val ?? null);
      if (kind === 'slice') {
        const arr = val as GoValue[];
        for (let i = 0; i < arr.length; i++) {
          iterated = true;
          if (!oneIteration(new GoInt(BigInt(i)), arr[i])) break;
        }
      } else if (kind === 'map') {
        if (val instanceof Map) {
          for (const k of [...val.keys()].sort(compareKeys)) {
            iterated = true;
            if (!oneIteration(k, val.get(k)!)) break;
          }
        } else {
          const m = val as Record<string, GoValue>;
          for (const k of sortedKeys(m)) {
            iterated = true;
            if (!oneIteration(k, m[k])) break;
          }
        }
      } else if (kind === 'int64' || kind === 'int') {
        if (node.pipe.decl.length > 1) {
          errorf(
            `can't use ${printValue(
              val,
            )} to iterate over more than one variable`,
          );
        }
        const n = intValue(val as bigint | GoInt);
        for (let i = 0n; i < n; i++) {
          const v = kind === 'int' ? new GoInt(i) : i;
          iterated = true;
          if (!oneIteration(v, v)) break;
        }
      } else if (kind !== 'invalid') {
        errorf(`range can't iterate over ${printValue(val)}`);
      }
      if (!iterated && node.elseList) walk(dot, node.elseList);
    } finally {
      vars = vars.slice(0, mark);
    }
  }

  function walkTemplate(dot: Value, node: Node & { type: 'template' }) {
    at(node);
    const body = tmpl.defines.get(node.name);
    if (!body) errorf(`template ${goQuote(node.name)} not defined`);
    if (++depth > MAX_DEPTH)
      errorf(`exceeded maximum template depth (${MAX_DEPTH})`);
    const newDot = node.pipe ? evalPipeline(dot, node.pipe) : undefined;
    const savedVars = vars;
    const savedName = execName;
    vars = [{ name: '$', value: newDot }];
    execName = node.name;
    try {
      walk(newDot, body!);
    } finally {
      vars = savedVars;
      execName = savedName;
      depth--;
    }
  }

  function evalPipeline(dot: Value, pipe: PipeNode): Value {
    at(pipe);
    let value: Final = MISSING;
    for (const cmd of pipe.cmds) {
      value = evalCommand(dot, cmd, value);
      // Go digs a value out of its interface{} between stages: a nil becomes no value.
      if (value === null) value = undefined;
    }
    const result = value === MISSING ? undefined : value;
    for (const v of pipe.decl) {
      if (pipe.isAssign) setVar(v.ident[0], result);
      else vars.push({ name: v.ident[0], value: result });
    }
    return result;
  }

  function notAFunction(args: Node[], final: Final) {
    if (args.length > 1 || final !== MISSING) {
      errorf(`can't give argument to non-function ${nodeString(args[0])}`);
    }
  }

  function evalCommand(dot: Value, cmd: CommandNode, final: Final): Value {
    const first = cmd.args[0];
    switch (first.type) {
      case 'field':
        return evalFieldChain(
          dot,
          dot,
          first,
          first.ident,
          cmd.args,
          final,
          true,
        );
      case 'chain':
        return evalChainNode(dot, first, cmd.args, final);
      case 'identifier':
        return evalFunction(dot, first, cmd, cmd.args, final);
      case 'pipe':
        notAFunction(cmd.args, final);
        return evalPipeline(dot, first);
      case 'variable':
        return evalVariableNode(dot, first, cmd.args, final);
      default:
        break;
    }
    at(first);
    notAFunction(cmd.args, final);
    switch (first.type) {
      case 'bool':
        return first.value;
      case 'dot':
        return dot;
      case 'nil':
        return errorf('nil is not a command');
      case 'number':
        return idealConstant(first);
      case 'string':
        return first.text;
      default:
        return errorf(`can't evaluate command ${goQuote(nodeString(first))}`);
    }
  }

  function idealConstant(n: NumberNode): Value {
    at(n);
    const looksFloat =
      !/^[+-]?0[xX]/.test(n.text) &&
      !n.text.startsWith("'") &&
      /[.eEpP]/.test(n.text);
    if (n.isFloat && looksFloat) return n.float!;
    if (n.isInt) return new GoInt(n.int!);
    return errorf(`${n.text} overflows int`);
  }

  function evalVariableNode(
    dot: Value,
    v: Node & { type: 'variable' },
    args: Node[] | undefined,
    final: Final,
  ): Value {
    at(v);
    const value = varValue(v.ident[0]);
    if (v.ident.length === 1) {
      if (args) notAFunction(args, final);
      return value;
    }
    return evalFieldChain(dot, value, v, v.ident.slice(1), args, final, false);
  }

  function evalChainNode(
    dot: Value,
    chain: Node & { type: 'chain' },
    args: Node[] | undefined,
    final: Final,
  ): Value {
    at(chain);
    if (chain.node.type === 'nil')
      errorf(`indirection through explicit nil in ${nodeString(chain)}`);
    const pipe = evalArg(dot, undefined, chain.node);
    return evalFieldChain(dot, pipe, chain, chain.field, args, final, false);
  }

  function evalFieldChain(
    dot: Value,
    receiver: Value,
    node: Node,
    idents: string[],
    args: Node[] | undefined,
    final: Final,
    isFieldNode: boolean,
  ): Value {
    if (isFieldNode) at(node);
    let r = receiver;
    let iface =
      node.type === 'chain' &&
      node.node.type === 'identifier' &&
      INTERFACE_RESULTS.has(node.node.ident);
    for (let i = 0; i < idents.length - 1; i++) {
      r = evalField(dot, idents[i], node, undefined, MISSING, r, iface);
      // A value found in a map[string]interface{} has the static type interface{}.
      iface = true;
    }
    return evalField(
      dot,
      idents[idents.length - 1],
      node,
      args,
      final,
      r,
      iface,
    );
  }

  function evalField(
    dot: Value,
    fieldName: string,
    node: Node,
    args: Node[] | undefined,
    final: Final,
    receiver: Value,
    receiverIsInterface = false,
  ): Value {
    if (receiver === undefined) {
      if (missingKey === 'error')
        errorf(`nil data; no entry for key ${goQuote(fieldName)}`);
      return undefined;
    }
    if (receiver === null) {
      return errorf(`nil pointer evaluating interface {}.${fieldName}`);
    }
    const hasArgs =
      (args !== undefined && args.length > 1) || final !== MISSING;
    if (receiver instanceof GoStruct) {
      const method = receiver.methods[fieldName];
      if (method) {
        return callGo(
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
          errorf(
            `${fieldName} has arguments but cannot be invoked as function`,
          );
        return receiver.fields[fieldName];
      }
      return errorf(
        `can't evaluate field ${fieldName} in type ${receiver.typeName}`,
      );
    }
    if (isPlainMap(receiver)) {
      if (hasArgs) errorf(`${fieldName} is not a method but has arguments`);
      if (Object.prototype.hasOwnProperty.call(receiver, fieldName))
        return receiver[fieldName];
      if (missingKey === 'error')
        errorf(`map has no entry for key ${goQuote(fieldName)}`);
      return missingKey === 'zero' ? null : undefined;
    }
    const type = receiverIsInterface ? 'interface {}' : typeName(receiver);
    return errorf(`can't evaluate field ${fieldName} in type ${type}`);
  }

  function evalFunction(
    dot: Value,
    ident: Node & { type: 'identifier' },
    cmd: Node,
    args: Node[] | undefined,
    final: Final,
  ): Value {
    at(ident);
    const name = ident.ident;
    if (LAZY_BUILTINS.has(name))
      return evalAndOr(dot, name, cmd, args ?? [], final);
    let f;
    if (localFuncs && Object.hasOwn(localFuncs, name)) f = localFuncs[name];
    else if (Object.hasOwn(funcs, name)) f = funcs[name];
    if (!f) return errorf(`${goQuote(name)} is not a defined function`);
    return callGo(dot, f, cmd, name, args, final);
  }

  /** `and`/`or` evaluate arguments left to right and stop at the deciding one. */
  function evalAndOr(
    dot: Value,
    name: string,
    cmd: Node,
    args: Node[],
    final: Final,
  ): Value {
    const rest = args.slice(1);
    const n = rest.length + (final === MISSING ? 0 : 1);
    if (n < 1)
      errorf(
        `wrong number of args for ${name}: want at least 1 got ${rest.length}`,
      );
    let v: Value;
    for (const a of rest) {
      v = evalArg(dot, 'any', a);
      if (isTrue(v ?? null) === (name === 'or')) return v;
    }
    if (final !== MISSING) v = final;
    at(cmd);
    return v;
  }

  function callGo(
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
        errorf(
          `wrong number of args for ${name}: want at least ${f.params.length} got ${rest.length}`,
        );
      }
    } else if (numIn !== f.params.length) {
      errorf(
        `wrong number of args for ${name}: want ${f.params.length} got ${numIn}`,
      );
    }
    const typeAt = (i: number): ParamType =>
      i < f.params.length ? f.params[i] : f.variadic!;
    const argv: GoValue[] = [];
    const fieldNil: boolean[] = [];
    rest.forEach((a, i) => {
      const v = evalArg(dot, typeAt(i), a) ?? null;
      argv.push(v);
      fieldNil.push(v === null && (a.type === 'field' || a.type === 'chain'));
    });
    if (final !== MISSING)
      argv.push(validateType(final, typeAt(numIn - 1), true) ?? null);
    try {
      const result = f.callReflect
        ? f.callReflect(fieldNil, ...argv)
        : f.call(...argv);
      // Any function's result is bounded, whatever built it (e.g. repeated `append`, `cat`).
      if (typeof result === 'string') checkStringLength(result.length, name);
      else if (Array.isArray(result)) checkListLength(result.length, name);
      return result;
    } catch (e) {
      at(node);
      if (e instanceof TemplateExecError) throw e;
      const msg = e instanceof Error ? e.message : String(e);
      return errorf(`error calling ${name}: ${msg}`);
    }
  }

  function validateType(
    value: Value,
    t: ParamType | undefined,
    piped = false,
  ): Value {
    if (t === undefined || t === 'any') return value;
    if (value === undefined || (value === null && piped)) {
      if (t === 'list' || t === 'map') return null;
      return errorf(`invalid value; expected ${paramTypeName(t)}`);
    }
    if (value === null) {
      if (t === 'list' || t === 'map') return null;
      return errorf(
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
      errorf(
        `wrong type for value; expected ${paramTypeName(t)}; got ${typeName(
          value,
        )}`,
      );
    }
    return value;
  }

  function evalArg(dot: Value, t: ParamType | undefined, n: Node): Value {
    at(n);
    switch (n.type) {
      case 'dot':
        return validateType(dot, t);
      case 'nil':
        if (t === undefined || t === 'any' || t === 'list' || t === 'map')
          return null;
        return errorf(`cannot assign nil to ${paramTypeName(t)}`);
      case 'field':
        return validateType(
          evalFieldChain(dot, dot, n, n.ident, [n], MISSING, true),
          t,
        );
      case 'variable':
        return validateType(evalVariableNode(dot, n, undefined, MISSING), t);
      case 'pipe':
        return validateType(evalPipeline(dot, n), t, true);
      case 'identifier':
        return validateType(
          evalFunction(dot, n, n, undefined, MISSING),
          t,
          true,
        );
      case 'chain':
        return validateType(evalChainNode(dot, n, undefined, MISSING), t);
      default:
        break;
    }
    switch (t) {
      case 'bool':
        if (n.type === 'bool') return n.value;
        return errorf(`expected bool; found ${nodeString(n)}`);
      case 'float64':
        if (n.type === 'number' && n.isFloat) return n.float!;
        return errorf(`expected float; found ${nodeString(n)}`);
      case 'int':
      case 'int64':
        if (n.type === 'number' && n.isInt) return n.int!;
        return errorf(`expected integer; found ${nodeString(n)}`);
      case 'string':
        if (n.type === 'string') return n.text;
        return errorf(`expected string; found ${nodeString(n)}`);
      case 'list':
      case 'map':
      case 'time':
        return errorf(
          `can't handle ${nodeString(n)} for arg of type ${paramTypeName(t)}`,
        );
      default:
        switch (n.type) {
          case 'bool':
            return n.value;
          case 'number':
            return idealConstant(n);
          case 'string':
            return n.text;
          default:
            return errorf(
              `can't handle assignment of ${nodeString(
                n,
              )} to empty interface argument`,
            );
        }
    }
  }

  try {
    walk(data, tmpl.root);
  } catch (e) {
    if (e instanceof BreakSignal || e instanceof ContinueSignal) {
      throw new TemplateExecError(
        `template: ${tmpl.name}: break or continue outside range`,
      );
    }
    throw e;
  }
  return out.join('');
}
