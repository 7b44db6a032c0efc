/**
 * `image-automation build rset` (a drop-in for `flux-operator build rset`: same bytes on
 * standard output, same errors) and `image-automation template render` (one Go template
 * against a JSON inputs map).
 */

import {
  buildResourceSet,
  InputProvider,
  InputSet,
  printObjects,
  resourceSetFromManifest,
  selectProviders,
  staticProviderFromManifest,
} from '../resourceset';
import { readObjects } from '../resourceset/readObjects';
import { parseJson } from '../golib/json';
import { GoValue } from '../golib/reflect';
import { parseYaml, YamlError } from '../golib/yaml';
import {
  parseTemplate,
  executeTemplate,
  TemplateParseError,
  TemplateFuncs,
} from '../template';
import { CliCommand, CliIO } from './types';
import { parseCommandArgs, usageError } from './args';

const BUILD_USAGE =
  'usage: image-automation build rset -f FILE [--inputs-from FILE | --inputs-from-provider FILE] [-n NAMESPACE]\n' +
  '  -f, --filename FILE          the ResourceSet manifest (- for standard input)\n' +
  '  -i, --inputs-from FILE       a YAML list of inputs that replaces spec.inputs\n' +
  '      --inputs-from-provider FILE  ResourceSetInputProvider manifests of type Static\n' +
  '  -n, --namespace NAMESPACE    namespace for a manifest without one (default "default")\n';

const RENDER_USAGE =
  "usage: image-automation template render --template FILE --inputs FILE [--delims '<<,>>'] [--name NAME] [--funcs resourceset|commitMessage] [--json]\n" +
  '  --template FILE   the template text (- for standard input)\n' +
  '  --inputs FILE     a JSON object: what `inputs` returns (resourceset) or the data `.` (commitMessage)\n' +
  "  --delims L,R      action delimiters (default '<<,>>')\n" +
  '  --name NAME       template name used in errors (default "resourceset")\n' +
  '  --funcs SET       function set (default resourceset)\n' +
  '  --json            print {"output": …} or {"error": …, "phase": "parse"|"execute"}\n';

/** Errors are printed the way the Flux Operator CLI prints them. */
function fail(io: CliIO, message: string): number {
  io.stderr.write(`✗ ${message}\n`);
  return 1;
}

function yamlMessage(e: unknown): string {
  const msg = (e as Error).message;
  return e instanceof YamlError ? `error converting YAML to JSON: ${msg}` : msg;
}

async function buildRset(args: string[], io: CliIO): Promise<number> {
  const parsed = parseCommandArgs(io, BUILD_USAGE, {
    args,
    options: {
      filename: { type: 'string', short: 'f' },
      'inputs-from': { type: 'string', short: 'i' },
      'inputs-from-provider': { type: 'string' },
      namespace: { type: 'string', short: 'n' },
    },
  });
  if (!parsed.ok) return parsed.exitCode;
  const { values } = parsed.parsed;
  if (!values.filename) return fail(io, '--filename is required');
  let text: string;
  try {
    text = await io.readFile(values.filename);
    if (values.filename === '-') text = text.replace(/[\r\n]+$/, '');
  } catch {
    return fail(
      io,
      `invalid filename '${values.filename}', must point to an existing file`,
    );
  }
  let manifest: GoValue;
  try {
    manifest = parseYaml(text);
  } catch (e) {
    return fail(io, `error parsing ResourceSet: ${yamlMessage(e)}`);
  }
  try {
    const rset = resourceSetFromManifest(
      manifest,
      values.namespace ?? 'default',
    );
    const spec = rset.spec;
    if (
      (spec.inputsFrom?.length ?? 0) > 0 &&
      !values['inputs-from'] &&
      !values['inputs-from-provider']
    ) {
      throw new Error(
        "ResourceSet has '.spec.inputsFrom', please provide the inputs with --inputs-from or --inputs-from-provider",
      );
    }
    if (values['inputs-from']) {
      let data: string;
      try {
        data = await io.readFile(values['inputs-from']);
      } catch (e) {
        throw new Error(`error reading inputs file: ${(e as Error).message}`);
      }
      let list: GoValue;
      try {
        list = parseYaml(data);
      } catch (e) {
        throw new Error(`error parsing inputs file: ${yamlMessage(e)}`);
      }
      if (list !== null && !Array.isArray(list)) {
        throw new Error(
          'error parsing inputs file: error unmarshaling JSON: while decoding JSON: json: cannot unmarshal object into Go value of type []v1.ResourceSetInput',
        );
      }
      spec.inputs = ((list ?? []) as GoValue[]).map(v =>
        v && typeof v === 'object' && !Array.isArray(v)
          ? ({ ...v } as InputSet)
          : {},
      );
    }
    let providers: InputProvider[] = [];
    if (values['inputs-from-provider']) {
      const file = values['inputs-from-provider'];
      let loaded: InputProvider[];
      try {
        const data = await io.readFile(file);
        const docs = readObjects(data);
        loaded = docs
          .map(doc => staticProviderFromManifest(doc, rset.metadata.namespace))
          .filter((p): p is InputProvider => p !== undefined);
      } catch (e) {
        throw new Error(
          `error loading providers from file: ${(e as Error).message}`,
        );
      }
      try {
        providers = selectProviders(
          rset.metadata.namespace,
          spec.inputsFrom ?? [],
          loaded,
        );
      } catch (e) {
        throw new Error(`error filtering providers: ${(e as Error).message}`);
      }
    }
    const result = buildResourceSet({
      resourceSet: rset,
      providers,
      emptyInputsFrom: 'render-without-inputs',
    });
    if (!result.ok) throw new Error(result.error);
    if (result.objects.length === 0)
      throw new Error('no objects were generated');
    io.stdout.write(printObjects(result.steps));
    return 0;
  } catch (e) {
    return fail(io, (e as Error).message);
  }
}

async function renderCommand(args: string[], io: CliIO): Promise<number> {
  const parsed = parseCommandArgs(io, RENDER_USAGE, {
    args,
    options: {
      template: { type: 'string' },
      inputs: { type: 'string' },
      delims: { type: 'string' },
      name: { type: 'string' },
      funcs: { type: 'string' },
      json: { type: 'boolean' },
    },
  });
  if (!parsed.ok) return parsed.exitCode;
  const { values } = parsed.parsed;
  if (!values.template)
    return usageError(io, RENDER_USAGE, '--template is required');
  if (!values.inputs)
    return usageError(io, RENDER_USAGE, '--inputs is required');
  const delims = (values.delims ?? '<<,>>').split(',');
  if (delims.length !== 2 || !delims[0] || !delims[1]) {
    return usageError(
      io,
      RENDER_USAGE,
      `--delims must be two delimiters separated by a comma`,
    );
  }
  const funcs = (values.funcs ?? 'resourceset') as TemplateFuncs;
  if (funcs !== 'resourceset' && funcs !== 'commitMessage') {
    return usageError(io, RENDER_USAGE, `unknown function set ${values.funcs}`);
  }
  let text: string;
  let data: GoValue;
  try {
    text = await io.readFile(values.template);
    data = parseJson(await io.readFile(values.inputs), 'preserve');
  } catch (e) {
    return usageError(io, RENDER_USAGE, (e as Error).message);
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    return usageError(io, RENDER_USAGE, '--inputs must hold a JSON object');
  }
  const report = (
    result: { output: string } | { error: string; phase: 'parse' | 'execute' },
  ) => {
    if (values.json) io.stdout.write(`${JSON.stringify(result)}\n`);
    else if ('output' in result) io.stdout.write(result.output);
    else io.stderr.write(`${result.error}\n`);
    return 'output' in result ? 0 : 1;
  };
  let tmpl;
  try {
    tmpl = parseTemplate({
      name: values.name ?? 'resourceset',
      text,
      delims: [delims[0], delims[1]],
      funcs,
    });
  } catch (e) {
    if (!(e instanceof TemplateParseError)) throw e;
    return report({ error: e.message, phase: 'parse' });
  }
  try {
    const inputs = data as Record<string, GoValue>;
    const output =
      funcs === 'resourceset'
        ? executeTemplate(tmpl, { inputs })
        : executeTemplate(tmpl, { data: inputs });
    return report({ output });
  } catch (e) {
    return report({ error: (e as Error).message, phase: 'execute' });
  }
}

/** The `build rset` and `template render` commands. @internal */
export const templateCommands: Record<string, CliCommand> = {
  'build rset': {
    summary: 'render a ResourceSet like `flux-operator build rset`',
    run: buildRset,
  },
  'template render': {
    summary: 'render a Go template against a JSON inputs map',
    run: renderCommand,
  },
};
