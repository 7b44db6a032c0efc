/**
 * Sprig's flow-control, reflection, path, regular-expression, URL, encoding and duration
 * functions.
 */

import crypto from 'node:crypto';
import { FuncMap, fn, GoFuncError } from '../funcTypes';
import { GoValue, isPlainMap, typedSlice } from '../../golib/reflect';
import { jsonSyntaxError, marshalJson } from '../../golib/json';
import { goKindOf, goTypeOf, isEmpty } from './convert';
import { deepEqual } from './collections';
import {
  compileGoRegexp as compileRegexp,
  expandGoTemplate,
  findAllSubmatch as findAll,
  GoRegexp,
  mustCompilePanicMessage,
  quoteMeta,
  split as goSplit,
} from '../../golib/regexp';
import { adler32 } from '../../golib/adler32';
import { goStringFromBytes } from './goBytes';
import {
  durationString,
  GoTime,
  parseDuration,
  parseTime,
  zeroTime,
} from '../../golib/time';

/**
 * `json.Unmarshal` into `interface{}`, as sprig's fromJson calls it: nil and Go's message for a
 * syntax error; a number float64 cannot hold is left nil and reported, the rest still decoded.
 */
function readJson(text: string): { value: GoValue; error?: string } {
  const syntax = jsonSyntaxError(text);
  if (syntax) return { value: null, error: syntax };
  let error: string | undefined;
  const value = JSON.parse(text, (_key, v, ctx?: { source?: string }) => {
    if (typeof v !== 'number' || Number.isFinite(v)) return v;
    error ??= `json: cannot unmarshal number ${
      ctx?.source ?? v
    } into Go value of type float64`;
    return null;
  }) as GoValue;
  return { value, error };
}

/** Go's `path.Clean`. @internal */
export function pathClean(p: string): string {
  if (p === '') return '.';
  const rooted = p.startsWith('/');
  const out: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop();
      else if (!rooted) out.push('..');
      continue;
    }
    out.push(part);
  }
  const s = (rooted ? '/' : '') + out.join('/');
  return s === '' ? '.' : s;
}

function pathBase(p: string): string {
  if (p === '') return '.';
  const t = p.replace(/\/+$/, '');
  if (t === '') return '/';
  return t.slice(t.lastIndexOf('/') + 1);
}

function pathDir(p: string): string {
  return pathClean(p.slice(0, p.lastIndexOf('/') + 1));
}

function pathExt(p: string): string {
  for (let i = p.length - 1; i >= 0 && p[i] !== '/'; i--)
    if (p[i] === '.') return p.slice(i);
  return '';
}

function base32Encode(s: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const bytes = Buffer.from(s, 'utf8');
  let bits = 0;
  let value = 0;
  let out = '';
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += alphabet[(value << (5 - bits)) & 31];
  while (out.length % 8 !== 0) out += '=';
  return out;
}

function base32Decode(s: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  if (s.length % 8 !== 0)
    return `illegal base32 data at input byte ${s.length - (s.length % 8)}`;
  const body = s.replace(/=+$/, '');
  let bits = 0;
  let value = 0;
  const out: number[] = [];
  for (let i = 0; i < body.length; i++) {
    const idx = alphabet.indexOf(body[i]);
    if (idx < 0) return `illegal base32 data at input byte ${i}`;
    value = ((value << 5) | idx) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return goStringFromBytes(Uint8Array.from(out));
}

function base64Decode(s: string): string {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4 !== 0) {
    const bad = s.search(/[^A-Za-z0-9+/=]/);
    const at = bad >= 0 ? bad : s.length - (s.length % 4 || 4);
    return `illegal base64 data at input byte ${at}`;
  }
  return goStringFromBytes(Buffer.from(s, 'base64'));
}

const hash = (alg: string) => (s: string) =>
  crypto.createHash(alg).update(s, 'utf8').digest('hex');

const stringSlice = (l: string[] | null) => (l ? typedSlice(l, 'string') : l);

/** Compiles an RE2 expression with Go's `regexp.Compile`; errors are Go's text. */
function compileGoRegexp(expr: string): GoRegexp {
  const compiled = compileRegexp(expr);
  if (!compiled.ok) throw new GoFuncError(compiled.message);
  return compiled.regexp;
}

/**
 * `regexp.MustCompile`, as sprig's functions without the `must` prefix call it: a bad pattern
 * panics, and the template reports the panic value.
 */
function mustCompileGoRegexp(expr: string): GoRegexp {
  const compiled = compileRegexp(expr);
  if (!compiled.ok)
    throw new GoFuncError(mustCompilePanicMessage(expr, compiled.message));
  return compiled.regexp;
}

function regexFuncs(): FuncMap {
  const must =
    <T>(f: (re: GoRegexp, ...a: any[]) => T) =>
    (expr: string, ...a: any[]) =>
      f(compileGoRegexp(expr), ...a);
  const panics =
    <T>(f: (re: GoRegexp, ...a: any[]) => T) =>
    (expr: string, ...a: any[]) =>
      f(mustCompileGoRegexp(expr), ...a);
  const findAllStrings = (re: GoRegexp, s: string, n: bigint) => {
    const ms = findAll(re, s, Number(n));
    return ms.length
      ? typedSlice(
          ms.map(m => m[0]!),
          'string',
        )
      : null;
  };
  const findOne = (re: GoRegexp, s: string) => findAll(re, s, 1)[0]?.[0] ?? '';
  const replaceAll = (
    re: GoRegexp,
    s: string,
    repl: string,
    literal: boolean,
  ) => {
    let out = '';
    let last = 0;
    for (const m of findAll(re, s, -1)) {
      out +=
        s.slice(last, m.index) +
        (literal ? repl : expandGoTemplate(re, repl, m));
      last = m.index + m[0]!.length;
    }
    return out + s.slice(last);
  };
  const match = (expr: string, s: string) => {
    try {
      return findAll(compileGoRegexp(expr), s, 1).length > 0;
    } catch {
      return false;
    }
  };
  return {
    regexMatch: fn(['string', 'string'], match),
    mustRegexMatch: fn(
      ['string', 'string'],
      (e: string, s: string) => findAll(compileGoRegexp(e), s, 1).length > 0,
    ),
    regexFindAll: fn(['string', 'string', 'int'], panics(findAllStrings)),
    mustRegexFindAll: fn(['string', 'string', 'int'], must(findAllStrings)),
    regexFind: fn(['string', 'string'], panics(findOne)),
    mustRegexFind: fn(['string', 'string'], must(findOne)),
    regexReplaceAll: fn(
      ['string', 'string', 'string'],
      panics((re, s, r) => replaceAll(re, s, r, false)),
    ),
    mustRegexReplaceAll: fn(
      ['string', 'string', 'string'],
      must((re, s, r) => replaceAll(re, s, r, false)),
    ),
    regexReplaceAllLiteral: fn(
      ['string', 'string', 'string'],
      panics((re, s, r) => replaceAll(re, s, r, true)),
    ),
    mustRegexReplaceAllLiteral: fn(
      ['string', 'string', 'string'],
      must((re, s, r) => replaceAll(re, s, r, true)),
    ),
    regexSplit: fn(
      ['string', 'string', 'int'],
      panics((re, s, n: bigint) => stringSlice(goSplit(re, s, Number(n)))),
    ),
    mustRegexSplit: fn(
      ['string', 'string', 'int'],
      must((re, s, n: bigint) => stringSlice(goSplit(re, s, Number(n)))),
    ),
    regexQuoteMeta: fn(['string'], quoteMeta),
  };
}

function urlParse(v: string): GoValue {
  const m =
    /^(?:([A-Za-z][A-Za-z0-9+.-]*):)?(?:\/\/([^/?#]*))?([^?#]*)(?:\?([^#]*))?(?:#(.*))?$/.exec(
      v,
    );
  if (!m)
    throw new GoFuncError(
      `unable to parse url: parse ${JSON.stringify(v)}: invalid URL`,
    );
  const authority = m[2] ?? '';
  const at = authority.lastIndexOf('@');
  const userinfo = at >= 0 ? authority.slice(0, at) : '';
  const host = at >= 0 ? authority.slice(at + 1) : authority;
  const hostname = host.startsWith('[')
    ? host.slice(1, host.indexOf(']'))
    : host.replace(/:\d*$/, '');
  const opaque =
    m[1] && m[2] === undefined && !m[3].startsWith('/') ? m[3] : '';
  return {
    scheme: (m[1] ?? '').toLowerCase(),
    host,
    hostname,
    path: opaque ? '' : decodeURIComponentSafe(m[3]),
    query: m[4] ?? '',
    opaque,
    fragment: decodeURIComponentSafe(m[5] ?? ''),
    userinfo,
  };
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function urlJoin(d: Record<string, GoValue> | null): string {
  const get = (k: string): string => {
    const v = d?.[k];
    if (v === undefined) return '';
    if (typeof v !== 'string') {
      throw new GoFuncError(
        `unable to parse ${k} key, must be of type string, but ${goKindOf(
          v,
        )} found`,
      );
    }
    return v;
  };
  const scheme = get('scheme');
  let out = scheme ? `${scheme}:` : '';
  const opaque = get('opaque');
  if (opaque) out += opaque;
  else {
    const host = get('host');
    const userinfo = get('userinfo');
    const path = get('path');
    if (scheme || host || userinfo) {
      if (host || path || userinfo) out += '//';
      if (userinfo) out += `${userinfo}@`;
      out += host;
    }
    if (path && !path.startsWith('/') && host) out += '/';
    out += encodeURI(path).replace(/%25/g, '%').replace(/\?/g, '%3F');
  }
  const q = get('query');
  if (q) out += `?${q}`;
  const f = get('fragment');
  if (f) out += `#${encodeURIComponent(f).replace(/%2F/g, '/')}`;
  return out;
}

function mustDateModify(d: string, t: GoTime): GoTime {
  try {
    return t.plus(parseDuration(d));
  } catch (e) {
    throw new GoFuncError((e as Error).message);
  }
}

/** Time functions that take their time from arguments, never from the clock. */
const timeFuncs: FuncMap = {
  toDate: fn(['string', 'string'], (layout: string, value: string) => {
    try {
      return parseTime(layout, value);
    } catch {
      return zeroTime();
    }
  }),
  mustToDate: fn(['string', 'string'], (layout: string, value: string) => {
    try {
      return parseTime(layout, value);
    } catch (e) {
      throw new GoFuncError((e as Error).message);
    }
  }),
  unixEpoch: fn(['time'], (t: GoTime) => t.unixSeconds().toString()),
  mustDateModify: fn(['string', 'time'], mustDateModify),
  must_date_modify: fn(['string', 'time'], mustDateModify),
};

/** Functions shared by slim-sprig and sprig that are not about strings, lists or numbers. @internal */
export const miscFuncs: FuncMap = {
  default: fn(
    ['any'],
    (d: GoValue, ...given: GoValue[]) =>
      given.length === 0 || isEmpty(given[0]) ? d : given[0],
    'any',
  ),
  empty: fn(['any'], isEmpty),
  coalesce: fn(
    [],
    (...v: GoValue[]) => v.find(x => !isEmpty(x)) ?? null,
    'any',
  ),
  all: fn([], (...v: GoValue[]) => v.every(x => !isEmpty(x)), 'any'),
  any: fn([], (...v: GoValue[]) => v.some(x => !isEmpty(x)), 'any'),
  ternary: fn(['any', 'any', 'bool'], (t: GoValue, f: GoValue, c: boolean) =>
    c ? t : f,
  ),
  fail: fn(['string'], (msg: string) => {
    throw new GoFuncError(msg);
  }),
  fromJson: fn(['string'], (s: string) => readJson(s).value),
  mustFromJson: fn(['string'], (s: string) => {
    const { value, error } = readJson(s);
    if (error) throw new GoFuncError(error);
    return value;
  }),
  toJson: fn(['any'], (v: GoValue) => {
    try {
      return marshalJson(v);
    } catch {
      return '';
    }
  }),
  mustToJson: fn(['any'], (v: GoValue) => marshalJson(v)),
  toPrettyJson: fn(['any'], (v: GoValue) => {
    try {
      return marshalJson(v, { indent: '  ' });
    } catch {
      return '';
    }
  }),
  mustToPrettyJson: fn(['any'], (v: GoValue) =>
    marshalJson(v, { indent: '  ' }),
  ),
  toRawJson: fn(['any'], (v: GoValue) => marshalJson(v, { escapeHtml: false })),
  mustToRawJson: fn(['any'], (v: GoValue) =>
    marshalJson(v, { escapeHtml: false }),
  ),
  typeOf: fn(['any'], goTypeOf),
  typeIs: fn(['string', 'any'], (t: string, v: GoValue) => t === goTypeOf(v)),
  typeIsLike: fn(
    ['string', 'any'],
    (t: string, v: GoValue) => t === goTypeOf(v) || `*${t}` === goTypeOf(v),
  ),
  kindOf: fn(['any'], goKindOf),
  kindIs: fn(['string', 'any'], (t: string, v: GoValue) => t === goKindOf(v)),
  deepEqual: fn(['any', 'any'], deepEqual),
  base: fn(['string'], pathBase),
  dir: fn(['string'], pathDir),
  clean: fn(['string'], pathClean),
  ext: fn(['string'], pathExt),
  isAbs: fn(['string'], (p: string) => p.startsWith('/')),
  osBase: fn(['string'], pathBase),
  osClean: fn(['string'], pathClean),
  osDir: fn(['string'], pathDir),
  osExt: fn(['string'], pathExt),
  osIsAbs: fn(['string'], (p: string) => p.startsWith('/')),
  b64enc: fn(['string'], (s: string) =>
    Buffer.from(s, 'utf8').toString('base64'),
  ),
  b64dec: fn(['string'], base64Decode),
  b32enc: fn(['string'], base32Encode),
  b32dec: fn(['string'], base32Decode),
  sha1sum: fn(['string'], hash('sha1')),
  sha256sum: fn(['string'], hash('sha256')),
  adler32sum: fn(['string'], (s: string) => adler32(s).toString()),
  urlParse: fn(['string'], urlParse),
  urlJoin: fn(['map'], (d: Record<string, GoValue> | null) =>
    urlJoin(isPlainMap(d) ? d : null),
  ),
  duration: fn(['any'], (sec: GoValue) => {
    let n = 0n;
    if (typeof sec === 'string') n = /^[+-]?\d+$/.test(sec) ? BigInt(sec) : 0n;
    else if (typeof sec === 'bigint') n = sec;
    return durationString(BigInt.asIntN(64, n * 1000000000n));
  }),
  durationRound: fn(['any'], (d: GoValue) => {
    let ns = 0n;
    if (typeof d === 'bigint') ns = d;
    else if (typeof d === 'string') {
      // sprig ignores the error: Go's ParseDuration returns 0 with it
      try {
        ns = parseDuration(d);
      } catch {
        ns = 0n;
      }
    }
    const u = ns < 0n ? -ns : ns;
    const second = 1000000000n;
    const steps: [bigint, string][] = [
      [second * 3600n * 24n * 365n, 'y'],
      [second * 3600n * 24n * 30n, 'mo'],
      [second * 3600n * 24n, 'd'],
      [second * 3600n, 'h'],
      [second * 60n, 'm'],
      [second, 's'],
    ];
    for (const [unit, suffix] of steps)
      if (u > unit) return `${u / unit}${suffix}`;
    return '0s';
  }),
  ...timeFuncs,
  ...regexFuncs(),
};
