import { ImageRef } from '@imageops/backstage-plugin-image-automation-common';
import {
  findMarkedScalars,
  MarkedScalar,
  ObjectIdentity,
} from './findMarkedScalars';
import { lookupSetter } from './policySetters';
import { needsQuoting } from './yamlNonString';

/** One value a setter changed. @internal */
export interface SetterChange {
  line: number;
  setter: string;
  oldValue: string;
  newValue: string;
  object: ObjectIdentity;
}

/** Something the automation could not do in a file, to be reported rather than skipped silently. @internal */
export interface SetterWarning {
  file: string;
  line: number;
  message: string;
}

/** A marker found in a file, with the value it holds. @internal */
export interface FoundMarker {
  file: string;
  line: number;
  setter: string;
  /** The ImagePolicy the marker names (in the automation's namespace), if it names one. */
  policy?: string;
  value: string;
}

/** The outcome of applying setters to one file. @internal */
export interface FileSetterResult {
  /** The new text, or undefined when nothing changed. */
  text?: string;
  changes: SetterChange[];
  warnings: SetterWarning[];
  /** Every marker of the file, changed or not. */
  markers: FoundMarker[];
}

/** The ImagePolicy a setter name (`N:P[:field]`) names in `namespace`, if any. @internal */
export function policyOfSetter(
  setter: string,
  namespace: string,
): string | undefined {
  const [ns, policy] = setter.split(':');
  return ns === namespace && policy ? policy : undefined;
}

/** Characters that make a plain scalar mean something else; such values are double-quoted. */
function plainSafe(value: string): boolean {
  return (
    /^[^\s\-?:,[\]{}#&*!|>'"%@`]/.test(value) &&
    !/(:\s|\s#|:$|\s$|[\n\r\t])/.test(value) &&
    !/[,[\]{}]/.test(value)
  );
}

function doubleQuoted(value: string): string {
  return JSON.stringify(value);
}

/**
 * The source text for a new scalar value in the style of the old one: quote styles are
 * kept; a plain value that a YAML reader would not take for a string is double-quoted
 * (as Flux does, and also for YAML 1.2 / YAML 1.1 dates and times, which Flux misses).
 * @internal
 */
export function renderScalar(
  value: string,
  style: MarkedScalar['style'],
  inFlow = false,
): string {
  switch (style) {
    case 'QUOTE_DOUBLE':
      return doubleQuoted(value);
    case 'QUOTE_SINGLE':
      return `'${value.replace(/'/g, "''")}'`;
    default:
      // YAML 1.1 allows no `:` in a plain scalar inside a flow collection; kyaml quotes it there too.
      return needsQuoting(value) ||
        !plainSafe(value) ||
        (inFlow && value.includes(':'))
        ? doubleQuoted(value)
        : value;
  }
}

/**
 * Applies image policy setters to one YAML file, editing only the marked scalars in place:
 * every other byte (comments, indentation, block scalars, flow style, template text) stays
 * as it was. Files that do not parse and markers that cannot be applied are reported.
 * @internal
 */
export function applySetters(options: {
  file: string;
  text: string;
  namespace: string;
  policies: ReadonlyMap<string, ImageRef | undefined>;
  /** Policies whose markers keep their values (a promotion holds them). */
  held?: ReadonlySet<string>;
}): FileSetterResult {
  const { file, text, namespace, policies, held } = options;
  const found = findMarkedScalars(text);
  if (!found.ok) {
    return {
      changes: [],
      warnings: [
        {
          file,
          line: found.line,
          message: `not updated: the file does not parse as YAML: ${found.message}`,
        },
      ],
      markers: [],
    };
  }
  const changes: SetterChange[] = [];
  const warnings: SetterWarning[] = [];
  const markers: FoundMarker[] = [];
  const edits: Array<{ start: number; end: number; text: string }> = [];
  for (const scalar of found.scalars) {
    const policy = policyOfSetter(scalar.setter, namespace);
    markers.push({
      file,
      line: scalar.line,
      setter: scalar.setter,
      policy,
      value: scalar.value,
    });
    if (policy && held?.has(policy)) continue;
    const lookup = lookupSetter(scalar.setter, namespace, policies);
    if (!lookup.ok) {
      warnings.push({ file, line: scalar.line, message: lookup.problem });
      continue;
    }
    if (lookup.value === scalar.value) continue;
    edits.push({
      start: scalar.start,
      end: scalar.end,
      text: renderScalar(lookup.value, scalar.style, scalar.inFlow),
    });
    changes.push({
      line: scalar.line,
      setter: scalar.setter,
      oldValue: scalar.value,
      newValue: lookup.value,
      object: found.objects[scalar.document],
    });
  }
  if (edits.length === 0) return { changes, warnings, markers };
  let out = '';
  let at = 0;
  for (const edit of edits.sort((a, b) => a.start - b.start)) {
    out += text.slice(at, edit.start) + edit.text;
    at = edit.end;
  }
  return { text: out + text.slice(at), changes, warnings, markers };
}
