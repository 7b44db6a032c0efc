/**
 * Go `text/template` for ResourceSets (`<< >>`) and commit messages (`{{ }}`).
 *
 * @packageDocumentation
 */

import { execute, MissingKey, TemplateExecError } from './exec';
import { commitMessageFuncMap, resourceSetFuncMap } from './funcMaps';
import { FuncMap, GoFunc } from './funcTypes';
import { DEFAULT_TEMPLATE_LIMITS, TemplateLimits } from './limits';
import { GoValue } from '../golib/reflect';
import { parse, ParsedTemplate, TemplateParseError } from './parse';

export { TemplateParseError } from './parse';
export { TemplateExecError } from './exec';
export { DEFAULT_TEMPLATE_LIMITS } from './limits';
export type { TemplateLimits } from './limits';
export type { MissingKey } from './exec';
export { slugify } from './funcs/slugify';

/** The longest template source parsed (characters). @internal */
export const MAX_TEMPLATE_LENGTH = 1 << 20;

/** Which function set a template sees. @internal */
export type TemplateFuncs = 'resourceset' | 'commitMessage';

/**
 * Options for parsing a template.
 * @internal
 */
export interface ParseTemplateOptions {
  /** Template name, as it appears in errors (`template: NAME:1:3: …`). */
  name: string;
  /** Template source. */
  text: string;
  /** Action delimiters; default `['{{', '}}']`. ResourceSets use `['<<', '>>']`. */
  delims?: [string, string];
  /** Function set: `resourceset` (slim-sprig + slugify/toYaml + `inputs`) or `commitMessage` (sprig). */
  funcs: TemplateFuncs;
}

/**
 * A parsed template, ready to execute many times.
 * @internal
 */
export interface Template {
  readonly name: string;
  readonly funcs: TemplateFuncs;
  /** @internal */
  readonly parsed: ParsedTemplate;
}

/**
 * Options for executing a template.
 * @internal
 */
export interface ExecuteTemplateOptions {
  /** The data `.` refers to (`undefined` = Go's nil data). */
  data?: GoValue;
  /** For `resourceset` templates: what the `inputs` function returns (default: an empty map). */
  inputs?: Record<string, GoValue>;
  /** `missingkey=` option; default `error` (the Flux Operator's; commit messages pass `default`, as image-automation-controller sets none). */
  missingKey?: MissingKey;
  /** Resource limits; default {@link DEFAULT_TEMPLATE_LIMITS}. */
  limits?: TemplateLimits;
  /**
   * Absolute deadline (epoch ms) shared by several executions (a ResourceSet renders one per
   * input set); default: now + `limits.timeoutMs`.
   */
  deadline?: number;
}

function funcTable(funcs: TemplateFuncs): FuncMap {
  return funcs === 'resourceset'
    ? resourceSetFuncMap()
    : commitMessageFuncMap();
}

/**
 * Parses a template. Throws {@link TemplateParseError} with Go's message
 * (`template: NAME:LINE: …`), e.g. `function "now" not defined`.
 * @internal
 */
export function parseTemplate(opts: ParseTemplateOptions): Template {
  if (opts.text.length > MAX_TEMPLATE_LENGTH) {
    throw new TemplateParseError(
      `template: ${opts.name}: the template is ${opts.text.length} characters long; the limit is ${MAX_TEMPLATE_LENGTH}`,
    );
  }
  const table = funcTable(opts.funcs);
  const hasFunction = (n: string) =>
    Object.hasOwn(table, n) ||
    n === 'and' ||
    n === 'or' ||
    (opts.funcs === 'resourceset' && n === 'inputs');
  const parsed = parse(
    opts.name,
    opts.text,
    opts.delims ?? ['{{', '}}'],
    hasFunction,
  );
  return { name: opts.name, funcs: opts.funcs, parsed };
}

/**
 * Executes a parsed template. Throws {@link TemplateExecError} with Go's message
 * (`template: NAME:LINE:COL: executing "NAME" at <…>: …`).
 * @internal
 */
export function executeTemplate(
  tmpl: Template,
  opts: ExecuteTemplateOptions = {},
): string {
  let local: FuncMap | undefined;
  if (tmpl.funcs === 'resourceset') {
    const inputs = opts.inputs ?? {};
    const inputsFn: GoFunc = { params: [], call: () => inputs };
    local = { inputs: inputsFn };
  }
  return execute(
    tmpl.parsed,
    opts.data,
    funcTable(tmpl.funcs),
    opts.missingKey ?? 'error',
    local,
    opts.limits ?? DEFAULT_TEMPLATE_LIMITS,
    opts.deadline,
  );
}

/**
 * Parses and executes in one go.
 * @internal
 */
export function renderTemplate(
  opts: ParseTemplateOptions & ExecuteTemplateOptions,
): string {
  return executeTemplate(parseTemplate(opts), opts);
}

/** The Flux Operator's ResourceSet delimiters. @internal */
export const RESOURCESET_DELIMS: [string, string] = ['<<', '>>'];
