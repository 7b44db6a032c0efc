/**
 * The two function sets templates run with: the Flux Operator's for ResourceSets and the
 * image-automation-controller's for commit messages.
 */

import { createHash } from 'node:crypto';
import { FuncMap, fn, GoFuncError } from './funcTypes';
import {
  GoValue,
  isPlainMap,
  setOwn,
  sliceTypeName,
  typedSlice,
} from '../golib/reflect';
import { builtinFuncs } from './funcs/builtins';
import { collectionFuncs } from './funcs/collections';
import { miscFuncs } from './funcs/misc';
import { numberFuncs } from './funcs/numbers';
import { slugify } from './funcs/slugify';
import { stringFuncs } from './funcs/strings';
import { marshalYaml } from '../golib/yaml';
import { isEmpty, toFloat64 } from './funcs/convert';
import {
  Decimal,
  decimalAdd,
  decimalDiv,
  decimalFromFloat,
  decimalMul,
  decimalSub,
  decimalToFloat,
} from './funcs/decimal';
import { semverFuncs } from './funcs/semver';
import { sprigStringFuncs } from './funcs/sprigStrings';

/**
 * The sprig v3.3.0 functions slim-sprig lacks; they have no deterministic or offline
 * implementation here (crypto material, salted hashes, a random order), so calling one
 * fails at execution with a clear message instead of at parse time.
 */
const SPRIG_ONLY_UNSUPPORTED = [
  'bcrypt',
  'htpasswd',
  'derivePassword',
  'genPrivateKey',
  'genCA',
  'genCAWithKey',
  'genSelfSignedCert',
  'genSelfSignedCertWithKey',
  'genSignedCert',
  'genSignedCertWithKey',
  'buildCustomCert',
  'encryptAES',
  'decryptAES',
  'shuffle',
];

function unsupported(name: string) {
  return fn(
    [],
    () => {
      throw new GoFuncError(`${name} is not supported by this template engine`);
    },
    'any',
  );
}

/** Sprig's float arithmetic: operands through shopspring/decimal, the result as a float64. */
function decimalOp(op: (a: Decimal, b: Decimal) => Decimal) {
  return (a: GoValue, ...xs: GoValue[]) =>
    decimalToFloat(
      xs.reduce<Decimal>(
        (acc, x) => op(acc, decimalFromFloat(toFloat64(x))),
        decimalFromFloat(toFloat64(a)),
      ),
    );
}

/** Sprig v3.3.0 additions over slim-sprig: string helpers, float math, maps, semver. */
function sprigExtras(): FuncMap {
  const copy = (v: GoValue) => {
    // copystructure cannot copy a nil interface; Go panics inside reflect
    if (v === null)
      throw new GoFuncError(
        'reflect: call of reflect.Value.Type on zero Value',
      );
    return deepCopy(v);
  };
  return {
    ...sprigStringFuncs,
    sha512sum: fn(['string'], (s: string) =>
      createHash('sha512').update(s, 'utf8').digest('hex'),
    ),
    deepCopy: fn(['any'], copy),
    mustDeepCopy: fn(['any'], copy),
    merge: fn(['map'], mergeInto(false), 'map'),
    mustMerge: fn(['map'], mergeInto(false), 'map'),
    mergeOverwrite: fn(['map'], mergeInto(true), 'map'),
    mustMergeOverwrite: fn(['map'], mergeInto(true), 'map'),
    addf: fn([], (...xs: GoValue[]) => decimalOp(decimalAdd)(0, ...xs), 'any'),
    add1f: fn(['any'], (a: GoValue) => decimalOp(decimalAdd)(a, 1)),
    subf: fn(['any'], decimalOp(decimalSub), 'any'),
    mulf: fn(['any'], decimalOp(decimalMul), 'any'),
    divf: fn(['any'], decimalOp(decimalDiv), 'any'),
    ...semverFuncs,
  };
}

/** A deep copy that keeps Go types (`int` vs `int64`, `[]string`, structs as they are). */
function deepCopy(v: GoValue): GoValue {
  if (Array.isArray(v)) {
    const out = v.map(deepCopy);
    const t = sliceTypeName(v);
    if (t === '[]string' || t === '[]int')
      typedSlice(out, t.slice(2) as 'string' | 'int');
    return out;
  }
  if (v instanceof Map)
    return new Map(
      [...v].map(([k, x]) => [k, deepCopy(x)] as [GoValue, GoValue]),
    );
  if (isPlainMap(v)) {
    const out: Record<string, GoValue> = {};
    for (const [k, x] of Object.entries(v)) setOwn(out, k, deepCopy(x));
    return out;
  }
  return v;
}

/**
 * mergo's `Merge`/`MergeWithOverwrite` on `map[string]interface{}`: a key missing or empty
 * (zero value) in `dst` takes the source's value, two non-empty maps merge recursively;
 * with overwrite every non-map source value replaces `dst`'s, also empty ones and nil.
 */
function mergeInto(overwrite: boolean) {
  const merge = (
    dst: Record<string, GoValue>,
    src: Record<string, GoValue>,
  ) => {
    for (const [k, v] of Object.entries(src)) {
      const has = Object.hasOwn(dst, k);
      const cur = has ? dst[k] : undefined;
      if (v === null) {
        if (overwrite) setOwn(dst, k, null);
        continue;
      }
      if (isPlainMap(v) && isPlainMap(cur)) merge(cur, v);
      const curEmpty = !has || isEmpty(cur ?? null);
      if (!curEmpty && Array.isArray(v)) {
        if (overwrite) setOwn(dst, k, v);
        continue;
      }
      if (!curEmpty && isPlainMap(v) && isPlainMap(cur)) continue;
      if (overwrite || curEmpty) setOwn(dst, k, v);
    }
  };
  return (
    dst: Record<string, GoValue> | null,
    ...srcs: (Record<string, GoValue> | null)[]
  ) => {
    const out = dst ?? {};
    for (const src of srcs) if (src) merge(out, src);
    return out;
  };
}

let resourceSetFuncs: FuncMap | undefined;
let commitMessageFuncs: FuncMap | undefined;

/**
 * Go builtins + slim-sprig v3.0.0 `HermeticTxtFuncMap` + `slugify`, `toYaml`, `mustToYaml`:
 * the Flux Operator's ResourceSet functions (`inputs` is added per render).
 * @internal
 */
export function resourceSetFuncMap(): FuncMap {
  resourceSetFuncs ??= {
    ...builtinFuncs,
    ...stringFuncs,
    ...collectionFuncs,
    ...numberFuncs('slim'),
    ...miscFuncs,
    slugify: fn(['string'], slugify),
    toYaml: fn(['any'], (v: GoValue) => {
      try {
        return marshalYaml(v);
      } catch {
        return '';
      }
    }),
    mustToYaml: fn(['any'], (v: GoValue) => marshalYaml(v)),
  };
  return resourceSetFuncs;
}

/**
 * Go builtins + sprig v3.3.0 `HermeticTxtFuncMap`: the image-automation-controller's
 * commit message functions.
 * @internal
 */
export function commitMessageFuncMap(): FuncMap {
  if (!commitMessageFuncs) {
    const map: FuncMap = {
      ...builtinFuncs,
      ...stringFuncs,
      ...collectionFuncs,
      ...numberFuncs('sprig'),
      ...miscFuncs,
      ...sprigExtras(),
    };
    for (const name of SPRIG_ONLY_UNSUPPORTED) map[name] = unsupported(name);
    commitMessageFuncs = map;
  }
  return commitMessageFuncs;
}
