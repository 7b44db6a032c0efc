/**
 * The two function sets templates run with: the Flux Operator's for ResourceSets and the
 * image-automation-controller's for commit messages.
 */

import { createHash } from 'node:crypto';
import { FuncMap, fn, GoFuncError } from './funcTypes';
import { GoValue } from './goValue';
import { builtinFuncs } from './funcs/builtins';
import { collectionFuncs } from './funcs/collections';
import { miscFuncs } from './funcs/misc';
import { numberFuncs } from './funcs/numbers';
import { slugify } from './funcs/slugify';
import { stringFuncs } from './funcs/strings';
import { marshalYaml } from './goYaml/marshal';
import { toFloat64 } from './funcs/convert';

/**
 * The sprig v3.3.0 functions slim-sprig lacks; they have no deterministic or offline
 * implementation here (crypto material, salted hashes, time values), so calling one
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
  'semver',
  'semverCompare',
  'shuffle',
  'wrap',
  'wrapWith',
  'abbrevboth',
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

/** Sprig v3.3.0 additions over slim-sprig that are pure string/list/math functions. */
function sprigExtras(): FuncMap {
  const words = (s: string) =>
    s.split(/[\s_\-]+|(?<=[a-z0-9])(?=[A-Z])/).filter(Boolean);
  return {
    nospace: fn(['string'], (s: string) => s.replace(/\s/gu, '')),
    swapcase: fn(['string'], (s: string) =>
      [...s]
        .map(c => (c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase()))
        .join(''),
    ),
    camelcase: fn(['string'], (s: string) =>
      words(s)
        .map(w => w[0].toUpperCase() + w.slice(1).toLowerCase())
        .join(''),
    ),
    snakecase: fn(['string'], (s: string) =>
      words(s)
        .map(w => w.toLowerCase())
        .join('_'),
    ),
    kebabcase: fn(['string'], (s: string) =>
      words(s)
        .map(w => w.toLowerCase())
        .join('-'),
    ),
    initials: fn(['string'], (s: string) =>
      s
        .split(/\s+/)
        .filter(Boolean)
        .map(w => [...w][0])
        .join(''),
    ),
    abbrev: fn(['int', 'string'], (width: bigint, s: string) => {
      const n = Number(width);
      if (n < 4 || s.length <= n) return s;
      return `${s.slice(0, n - 3)}...`;
    }),
    untitle: fn(['string'], (s: string) =>
      s.replace(
        /(^|\s)(\S)/gu,
        (_m, sp: string, c: string) => sp + c.toLowerCase(),
      ),
    ),
    sha512sum: fn(['string'], (s: string) =>
      createHash('sha512').update(s, 'utf8').digest('hex'),
    ),
    deepCopy: fn(['any'], (v: GoValue) => structuredClone(v)),
    mustDeepCopy: fn(['any'], (v: GoValue) => structuredClone(v)),
    merge: fn(['map'], mergeInto(false), 'map'),
    mustMerge: fn(['map'], mergeInto(false), 'map'),
    mergeOverwrite: fn(['map'], mergeInto(true), 'map'),
    mustMergeOverwrite: fn(['map'], mergeInto(true), 'map'),
    addf: fn(
      [],
      (...xs: GoValue[]) => xs.reduce<number>((a, b) => a + toFloat64(b), 0),
      'any',
    ),
    subf: fn(
      ['any'],
      (a: GoValue, ...xs: GoValue[]) =>
        xs.reduce<number>((p, b) => p - toFloat64(b), toFloat64(a)),
      'any',
    ),
    mulf: fn(
      ['any'],
      (a: GoValue, ...xs: GoValue[]) =>
        xs.reduce<number>((p, b) => p * toFloat64(b), toFloat64(a)),
      'any',
    ),
    divf: fn(
      ['any'],
      (a: GoValue, ...xs: GoValue[]) =>
        xs.reduce<number>((p, b) => p / toFloat64(b), toFloat64(a)),
      'any',
    ),
    add1f: fn(['any'], (a: GoValue) => toFloat64(a) + 1),
  };
}

function mergeInto(overwrite: boolean) {
  return (
    dst: Record<string, GoValue> | null,
    ...srcs: (Record<string, GoValue> | null)[]
  ) => {
    const out = dst ?? {};
    for (const src of srcs) {
      for (const [k, v] of Object.entries(src ?? {})) {
        const cur = out[k];
        if (
          cur &&
          v &&
          typeof cur === 'object' &&
          typeof v === 'object' &&
          !Array.isArray(cur) &&
          !Array.isArray(v)
        ) {
          mergeInto(overwrite)(
            cur as Record<string, GoValue>,
            v as Record<string, GoValue>,
          );
        } else if (overwrite || !(k in out)) out[k] = v;
      }
    }
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
