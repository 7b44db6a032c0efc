/**
 * The functions Go's `text/template` defines itself (`and`/`or` live in the executor
 * because they evaluate lazily).
 */

import { FuncMap, fn, GoFuncError } from '../funcTypes';
import { checkStringLength } from '../limits';
import {
  GoInt,
  GoStruct,
  GoValue,
  intValue,
  isInt,
  formatFloat,
  formatFloatFixed,
  formatValue,
  isPlainMap,
  isTrue,
  kindOf,
  sprint,
  sprintln,
} from '../../golib/reflect';
import { goQuote } from '../../golib/strconv';
import { goTypeOf } from './convert';
import { GoTime } from '../../golib/time';

type BasicKind = 'bool' | 'int' | 'float' | 'string' | 'invalid' | 'other';

function basicKind(v: GoValue): BasicKind {
  switch (kindOf(v)) {
    case 'bool':
      return 'bool';
    case 'int64':
    case 'int':
      return 'int';
    case 'float64':
      return 'float';
    case 'string':
      return 'string';
    case 'invalid':
      return 'invalid';
    default:
      return 'other';
  }
}

/** A pointer value (`*semver.Version`): comparable, by identity. */
function isGoPointer(v: GoValue): boolean {
  return v instanceof GoStruct && v.typeName.startsWith('*');
}

function eq(a: GoValue, ...bs: GoValue[]): boolean {
  if (bs.length === 0) throw new GoFuncError('missing argument for comparison');
  const k1 = basicKind(a);
  for (const b of bs) {
    const k2 = basicKind(b);
    let truth = false;
    if (k1 !== k2) {
      if (k1 !== 'invalid' && k2 !== 'invalid') {
        throw new GoFuncError(
          `incompatible types for comparison: ${goTypeOf(a)} and ${goTypeOf(
            b,
          )}`,
        );
      }
    } else if (k1 === 'other' && a instanceof GoTime && b instanceof GoTime) {
      truth = a.equals(b);
    } else if (k1 === 'other' && isGoPointer(a) && isGoPointer(b)) {
      truth = a === b;
    } else if (k1 === 'other') {
      throw new GoFuncError(
        `non-comparable type ${formatValue(b)}: ${goTypeOf(b)}`,
      );
    } else if (k1 === 'invalid') {
      truth = true;
    } else if (k1 === 'int') {
      truth = intValue(a as bigint) === intValue(b as bigint);
    } else truth = a === b;
    if (truth) return true;
  }
  return false;
}

function lt(a: GoValue, b: GoValue): boolean {
  const k1 = basicKind(a);
  const k2 = basicKind(b);
  if (
    k1 === 'other' ||
    k1 === 'invalid' ||
    k2 === 'other' ||
    k2 === 'invalid'
  ) {
    throw new GoFuncError('invalid type for comparison');
  }
  if (k1 !== k2)
    throw new GoFuncError(
      `incompatible types for comparison: ${goTypeOf(a)} and ${goTypeOf(b)}`,
    );
  if (k1 === 'bool') throw new GoFuncError('invalid type for comparison');
  if (k1 === 'string') return (a as string) < (b as string);
  if (k1 === 'int') return intValue(a as bigint) < intValue(b as bigint);
  return (a as number) < (b as number);
}

function goLen(v: GoValue): GoInt {
  if (v === null)
    throw new GoFuncError('reflect: call of reflect.Value.Type on zero Value');
  if (typeof v === 'string')
    return new GoInt(BigInt(Buffer.byteLength(v, 'utf8')));
  if (Array.isArray(v)) return new GoInt(BigInt(v.length));
  if (v instanceof Map) return new GoInt(BigInt(v.size));
  if (isPlainMap(v)) return new GoInt(BigInt(Object.keys(v).length));
  throw new GoFuncError(`len of type ${goTypeOf(v)}`);
}

function index(item: GoValue, ...indexes: GoValue[]): GoValue {
  if (item === null) throw new GoFuncError('index of untyped nil');
  let cur: GoValue = item;
  for (const idx of indexes) {
    if (cur === null) throw new GoFuncError('index of nil pointer');
    if (Array.isArray(cur) || typeof cur === 'string') {
      if (idx === null)
        throw new GoFuncError('cannot index slice/array with nil');
      if (!isInt(idx)) {
        throw new GoFuncError(
          `cannot index slice/array with type ${goTypeOf(idx)}`,
        );
      }
      const i = intValue(idx);
      const len = typeof cur === 'string' ? Buffer.byteLength(cur) : cur.length;
      if (i < 0n || i >= BigInt(len))
        throw new GoFuncError(`index out of range: ${i}`);
      cur =
        typeof cur === 'string'
          ? BigInt(Buffer.from(cur)[Number(i)])
          : cur[Number(i)];
    } else if (isPlainMap(cur)) {
      if (idx === null)
        throw new GoFuncError('value is nil; should be of type string');
      if (typeof idx !== 'string') {
        throw new GoFuncError(
          `value has type ${goTypeOf(idx)}; should be string`,
        );
      }
      cur = Object.prototype.hasOwnProperty.call(cur, idx) ? cur[idx] : null;
    } else if (cur instanceof Map) {
      cur = cur.get(idx) ?? null;
    } else {
      throw new GoFuncError(`can't index item of type ${goTypeOf(cur)}`);
    }
  }
  return cur;
}

/** Joins the arguments of `html`/`js`/`urlquery` the way Go's `evalArgs` does. */
function evalArgs(args: GoValue[]): string {
  if (args.length === 1 && typeof args[0] === 'string') return args[0];
  return sprint(args);
}

function htmlEscape(s: string): string {
  return s.replace(/[\0"'&<>]/g, c =>
    c === '\0'
      ? '\uFFFD'
      : (
          {
            '"': '&#34;',
            "'": '&#39;',
            '&': '&amp;',
            '<': '&lt;',
            '>': '&gt;',
          } as Record<string, string>
        )[c],
  );
}

function jsEscape(s: string): string {
  let out = '';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    switch (ch) {
      case '\\':
        out += '\\\\';
        break;
      case "'":
        out += "\\'";
        break;
      case '"':
        out += '\\"';
        break;
      case '<':
      case '>':
      case '&':
      case '=':
      case '`':
        out += `\\u${c.toString(16).toUpperCase().padStart(4, '0')}`;
        break;
      default:
        if (c < 0x20 || (c >= 0x7f && c < 0xa0)) {
          out += `\\u${c.toString(16).toUpperCase().padStart(4, '0')}`;
        } else out += ch;
    }
  }
  return out;
}

function queryEscape(s: string): string {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(b);
    if (/[A-Za-z0-9\-_.~]/.test(c)) out += c;
    else if (c === ' ') out += '+';
    else out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

function pad(s: string, width: number | undefined, flags: string): string {
  if (width === undefined || [...s].length >= width) return s;
  const fill = width - [...s].length;
  checkStringLength(width, 'printf width');
  if (flags.includes('-')) return s + ' '.repeat(fill);
  if (flags.includes('0') && /^[+-]?[0-9.]/.test(s)) {
    const sign = /^[+-]/.test(s) ? s[0] : '';
    return sign + '0'.repeat(fill) + s.slice(sign.length);
  }
  return ' '.repeat(fill) + s;
}

function badVerb(verb: string, v: GoValue): string {
  if (v instanceof GoInt) return `%!${verb}(int=${v.value})`;
  return v === null
    ? `%!${verb}(<nil>)`
    : `%!${verb}(${goTypeOf(v)}=${formatValue(v)})`;
}

/** Go's `fmt.Sprintf` for the verbs templates use. @internal */
export function sprintf(format: string, args: GoValue[]): string {
  let out = '';
  let argi = 0;
  for (let i = 0; i < format.length; i++) {
    const c = format[i];
    if (c !== '%') {
      out += c;
      continue;
    }
    const m = /^([+\-# 0]*)(\d+)?(?:\.(\d*))?([a-zA-Z%])?/.exec(
      format.slice(i + 1),
    )!;
    i += m[0].length;
    const [, flags, w, p, verb] = m;
    if (verb === undefined) {
      out += '%!(NOVERB)';
      continue;
    }
    if (verb === '%') {
      out += '%';
      continue;
    }
    if (argi >= args.length) {
      out += `%!${verb}(MISSING)`;
      continue;
    }
    const arg = args[argi++];
    const v: GoValue = arg instanceof GoInt ? arg.value : arg;
    const width = w === undefined ? undefined : Number(w);
    const prec = p === undefined ? undefined : Number(p || '0');
    let s: string;
    switch (verb) {
      case 'v':
        s = formatValue(v);
        break;
      case 's':
        s =
          typeof v === 'string' || kindOf(v) !== 'int64'
            ? formatValue(v)
            : badVerb(verb, arg);
        if (typeof v === 'number' || typeof v === 'boolean')
          s = badVerb(verb, arg);
        if (prec !== undefined && typeof v === 'string')
          s = [...s].slice(0, prec).join('');
        break;
      case 'q':
        if (typeof v === 'string') s = goQuote(v);
        else if (typeof v === 'bigint')
          s = `'${String.fromCodePoint(Number(v))}'`;
        else s = badVerb(verb, arg);
        break;
      case 'd':
        s = typeof v === 'bigint' ? v.toString() : badVerb(verb, arg);
        if (typeof v === 'bigint' && flags.includes('+') && v >= 0n)
          s = `+${s}`;
        break;
      case 't':
        s = typeof v === 'boolean' ? String(v) : badVerb(verb, arg);
        break;
      case 'x':
      case 'X': {
        if (typeof v === 'bigint')
          s = (v < 0n ? '-' : '') + (v < 0n ? -v : v).toString(16);
        else if (typeof v === 'string')
          s = Buffer.from(v, 'utf8').toString('hex');
        else s = badVerb(verb, arg);
        if (verb === 'X') s = s.toUpperCase();
        break;
      }
      case 'o':
        s = typeof v === 'bigint' ? v.toString(8) : badVerb(verb, arg);
        break;
      case 'b':
        s = typeof v === 'bigint' ? v.toString(2) : badVerb(verb, arg);
        break;
      case 'c':
        s =
          typeof v === 'bigint'
            ? String.fromCodePoint(Number(v))
            : badVerb(verb, arg);
        break;
      case 'f':
      case 'F':
        s = typeof v === 'number' ? v.toFixed(prec ?? 6) : badVerb(verb, arg);
        if (typeof v === 'number' && !Number.isFinite(v)) s = formatFloat(v);
        break;
      case 'e':
        s =
          typeof v === 'number'
            ? v.toExponential(prec ?? 6).replace(/e([+-])(\d)$/, 'e$10$2')
            : badVerb(verb, arg);
        break;
      case 'g':
        if (typeof v !== 'number') s = badVerb(verb, arg);
        else s = prec === undefined ? formatFloat(v) : formatG(v, prec);
        break;
      case 'T':
        s = goTypeOf(arg);
        break;
      default:
        s = badVerb(verb, arg);
    }
    if (
      flags.includes('+') &&
      typeof v === 'number' &&
      v >= 0 &&
      'feEgG'.includes(verb)
    )
      s = `+${s}`;
    out += pad(s, width, flags);
  }
  if (argi < args.length) {
    out += `%!(EXTRA ${args
      .slice(argi)
      .map(a => `${goTypeOf(a)}=${formatValue(a)}`)
      .join(', ')})`;
  }
  return out;
}

function formatG(v: number, prec: number): string {
  const p = prec === 0 ? 1 : prec;
  const e = Number(v.toExponential(p - 1).split('e')[1]);
  if (e < -4 || e >= p) {
    return v
      .toExponential(p - 1)
      .replace(/\.?0+e/, 'e')
      .replace(/e([+-])(\d)$/, 'e$10$2');
  }
  return formatFloatFixed(Number(v.toFixed(Math.max(0, p - 1 - e))));
}

/** Go's template builtins, except `and`/`or`. @internal */
export const builtinFuncs: FuncMap = {
  not: fn(['any'], (v: GoValue) => !isTrue(v)),
  len: {
    params: ['any'],
    call: goLen,
    callReflect: (fieldNil: boolean[], v: GoValue) => {
      if (v === null && fieldNil[0])
        throw new GoFuncError('len of nil pointer');
      return goLen(v);
    },
  },
  index: fn(['any'], index, 'any'),
  print: fn([], (...a: GoValue[]) => sprint(a), 'any'),
  printf: fn(['string'], (f: string, ...a: GoValue[]) => sprintf(f, a), 'any'),
  println: fn([], (...a: GoValue[]) => sprintln(a), 'any'),
  eq: fn(['any'], eq, 'any'),
  ne: fn(['any', 'any'], (a: GoValue, b: GoValue) => !eq(a, b)),
  lt: fn(['any', 'any'], lt),
  le: fn(['any', 'any'], (a: GoValue, b: GoValue) => lt(a, b) || eq(a, b)),
  gt: fn(['any', 'any'], (a: GoValue, b: GoValue) => !lt(a, b) && !eq(a, b)),
  ge: fn(['any', 'any'], (a: GoValue, b: GoValue) => !lt(a, b)),
  html: fn([], (...a: GoValue[]) => htmlEscape(evalArgs(a)), 'any'),
  js: fn([], (...a: GoValue[]) => jsEscape(evalArgs(a)), 'any'),
  urlquery: fn([], (...a: GoValue[]) => queryEscape(evalArgs(a)), 'any'),
  call: fn(
    ['any'],
    (f: GoValue) => {
      throw new GoFuncError(
        `non-function ${formatValue(f)} of type ${goTypeOf(f)}`,
      );
    },
    'any',
  ),
};
