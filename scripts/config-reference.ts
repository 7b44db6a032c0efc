/*
 * Generates docs/configuration.md from the plugins' config.d.ts files: every key under
 * `imageAutomation` with its type, whether it is required, its default (read from the doc
 * comment's "Default …" sentence), its visibility and its description.
 *
 *   node --require @backstage/cli-node/config/nodeTransform.cjs scripts/config-reference.ts          # write
 *   node --require @backstage/cli-node/config/nodeTransform.cjs scripts/config-reference.ts --check  # exit 1 when stale
 *
 * test/src/docs/configReference.test.ts fails when docs/configuration.md is not what this renders.
 */
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

/** The schema files, in the order they are documented. */
export const CONFIG_SOURCES = [
  {
    title: 'Backend',
    file: 'plugins/image-automation-backend/config.d.ts',
    package: '@imageops/backstage-plugin-image-automation-backend',
  },
  {
    title: 'Frontend',
    file: 'plugins/image-automation/config.d.ts',
    package: '@imageops/backstage-plugin-image-automation',
  },
];

/** Where the reference is written, relative to the repository root. */
export const CONFIG_REFERENCE_PATH = 'docs/configuration.md';

/** One documented key. */
export interface ConfigKey {
  path: string;
  type: string;
  required: boolean;
  default?: string;
  visibility: 'backend' | 'frontend' | 'secret';
  description: string;
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/** The doc comment of a node: its text (without tags) and its `@visibility`. */
function docOf(
  node: ts.Node,
  source: ts.SourceFile,
): { text: string; visibility?: string } {
  const docs = (node as { jsDoc?: ts.JSDoc[] }).jsDoc ?? [];
  const last = docs[docs.length - 1];
  if (!last) return { text: '' };
  const text = oneLine(ts.getTextOfJSDocComment(last.comment) ?? '');
  const tag = last.tags?.find(t => t.tagName.text === 'visibility');
  const visibility = tag
    ? oneLine(ts.getTextOfJSDocComment(tag.comment) ?? '')
    : undefined;
  void source;
  return { text, visibility };
}

/**
 * The default a description states: the words after "Default" / "Defaults to" up to the end of
 * the sentence or clause (`Default 1000 (Flux's); …` → `1000 (Flux's)`).
 */
export function defaultOf(description: string): string | undefined {
  const match = /\bDefaults?(?: to)?:?\s+(.+?)(?=[.;:](?:\s|$)|$)/.exec(
    description,
  );
  return match ? match[1].trim() : undefined;
}

function isArrayOf(type: ts.TypeNode): ts.TypeNode | undefined {
  if (ts.isArrayTypeNode(type)) return type.elementType;
  if (
    ts.isTypeReferenceNode(type) &&
    ts.isIdentifier(type.typeName) &&
    type.typeName.text === 'Array' &&
    type.typeArguments?.length === 1
  ) {
    return type.typeArguments[0];
  }
  return undefined;
}

function walk(
  members: ts.NodeArray<ts.TypeElement>,
  prefix: string,
  inherited: string | undefined,
  source: ts.SourceFile,
  out: ConfigKey[],
) {
  for (const member of members) {
    if (ts.isIndexSignatureDeclaration(member)) {
      const param = member.parameters[0];
      const keyName =
        param && ts.isIdentifier(param.name) ? param.name.text : 'name';
      walkType(
        member.type,
        `${prefix}.<${keyName}>`,
        inherited,
        source,
        out,
        member,
        false,
      );
      continue;
    }
    if (!ts.isPropertySignature(member) || !member.type) continue;
    const name = member.name.getText(source);
    const keyPath = prefix ? `${prefix}.${name}` : name;
    walkType(
      member.type,
      keyPath,
      inherited,
      source,
      out,
      member,
      !member.questionToken,
    );
  }
}

function walkType(
  type: ts.TypeNode,
  keyPath: string,
  inherited: string | undefined,
  source: ts.SourceFile,
  out: ConfigKey[],
  documented: ts.Node,
  required: boolean,
) {
  const doc = docOf(documented, source);
  const visibility = (doc.visibility ??
    inherited ??
    'backend') as ConfigKey['visibility'];
  const element = isArrayOf(type);
  const literal = ts.isTypeLiteralNode(type) ? type : undefined;
  const elementLiteral =
    element && ts.isTypeLiteralNode(element) ? element : undefined;
  const indexed = literal?.members.some(ts.isIndexSignatureDeclaration);
  let typeText: string;
  if (indexed) typeText = 'map of object';
  else if (literal) typeText = 'object';
  else if (elementLiteral) typeText = 'object[]';
  else
    typeText = oneLine(type.getText(source))
      // A union prettier breaks over lines starts with `|`, which is no part of the type.
      .replace(/^\|\s*/, '')
      .replace(/^Array<(.+)>$/, '$1[]');
  out.push({
    path: keyPath,
    type: typeText,
    required,
    default: defaultOf(doc.text),
    visibility,
    description: doc.text,
  });
  if (literal)
    walk(literal.members, keyPath, doc.visibility ?? inherited, source, out);
  if (elementLiteral)
    walk(
      elementLiteral.members,
      `${keyPath}[]`,
      doc.visibility ?? inherited,
      source,
      out,
    );
}

/** Every key of one config.d.ts, depth first in declaration order. */
export function configKeys(fileName: string, text: string): ConfigKey[] {
  const source = ts.createSourceFile(
    fileName,
    text,
    ts.ScriptTarget.Latest,
    true,
  );
  const out: ConfigKey[] = [];
  source.forEachChild(node => {
    if (ts.isInterfaceDeclaration(node) && node.name.text === 'Config') {
      walk(node.members, '', undefined, source, out);
    }
  });
  return out;
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|');
}

function code(text: string): string {
  return cell(`\`${text.replace(/`/g, "'")}\``);
}

/** docs/configuration.md for the schema files under `root`. */
export function renderConfigReference(root: string): string {
  const lines: string[] = [
    '# Configuration reference',
    '',
    "<!-- Generated by scripts/config-reference.ts from the plugins' config.d.ts files: do not edit.",
    '     Regenerate: node --require @backstage/cli-node/config/nodeTransform.cjs scripts/config-reference.ts -->',
    '',
    'Every key the plugins read, under `imageAutomation` in `app-config.yaml`. **Required** keys are',
    'required only when their parent is present. **Default** is the value used when the key is absent,',
    'as its description states; lists that grant something fail closed (absent or empty allows',
    'nothing, see [the security model](security.md)). **Visibility**: `backend` keys never reach the',
    'browser, `frontend` keys are served to it, `secret` keys are also masked wherever Backstage prints',
    'configuration. `<name>` stands for a key you choose; `[]` for each element of a list.',
    '',
  ];
  for (const source of CONFIG_SOURCES) {
    const keys = configKeys(
      source.file,
      fs.readFileSync(path.join(root, source.file), 'utf8'),
    );
    lines.push(
      `## ${source.title}`,
      '',
      `Schema: [\`${source.file}\`](../${source.file}) (package \`${source.package}\`).`,
      '',
      '| key | type | required | default | visibility | description |',
      '| --- | --- | --- | --- | --- | --- |',
    );
    for (const key of keys) {
      lines.push(
        `| ${[
          code(key.path),
          code(key.type),
          key.required ? 'yes' : 'no',
          key.default ? cell(key.default) : '—',
          key.visibility,
          key.description ? cell(key.description) : '—',
        ].join(' | ')} |`,
      );
    }
    lines.push('');
  }
  return lines.join('\n');
}

if (require.main === module) {
  const root = path.resolve(__dirname, '..');
  const target = path.join(root, CONFIG_REFERENCE_PATH);
  const rendered = renderConfigReference(root);
  if (process.argv.includes('--check')) {
    const current = fs.existsSync(target)
      ? fs.readFileSync(target, 'utf8')
      : '';
    if (current !== rendered) {
      process.stderr.write(
        `${CONFIG_REFERENCE_PATH} is stale: run scripts/config-reference.ts\n`,
      );
      process.exit(1);
    }
  } else {
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, rendered);
    process.stdout.write(`wrote ${CONFIG_REFERENCE_PATH}\n`);
  }
}
