import fs from 'node:fs';
import path from 'node:path';
import {
  CONFIG_REFERENCE_PATH,
  CONFIG_SOURCES,
  configKeys,
  defaultOf,
  renderConfigReference,
} from '../../../scripts/config-reference';

const root = path.resolve(__dirname, '../../..');

describe('docs/configuration.md', () => {
  it('is what scripts/config-reference.ts renders from the config.d.ts files (regenerate it when this fails)', () => {
    const current = fs.readFileSync(
      path.join(root, CONFIG_REFERENCE_PATH),
      'utf8',
    );
    const rendered = renderConfigReference(root);
    if (current !== rendered) {
      // A readable hint first: the first line that differs.
      const a = current.split('\n');
      const b = rendered.split('\n');
      const i = b.findIndex((line, n) => line !== a[n]);
      throw new Error(
        `${CONFIG_REFERENCE_PATH} is stale (line ${
          i + 1
        } differs):\n  in the file: ${a[i]}\n  generated:   ${b[i]}\n` +
          'run: node --require @backstage/cli-node/config/nodeTransform.cjs scripts/config-reference.ts',
      );
    }
  });

  it('documents every key of both schemas with a description', () => {
    for (const source of CONFIG_SOURCES) {
      const keys = configKeys(
        source.file,
        fs.readFileSync(path.join(root, source.file), 'utf8'),
      );
      expect(keys.length).toBeGreaterThan(0);
      const undocumented = keys.filter(k => !k.description).map(k => k.path);
      expect({ file: source.file, undocumented }).toEqual({
        file: source.file,
        undocumented: [],
      });
    }
  });

  it('lists the keys the guides rely on, with their defaults and visibility', () => {
    const doc = fs.readFileSync(path.join(root, CONFIG_REFERENCE_PATH), 'utf8');
    const row = (key: string) =>
      doc.split('\n').find(line => line.startsWith(`| \`${key}\` |`));
    expect(row('imageAutomation.allowedRegistries')).toContain('| none |');
    expect(row('imageAutomation.engine.minIntervalSeconds')).toContain(
      '| 60 |',
    );
    expect(row('imageAutomation.credentials.<name>.password')).toContain(
      '| secret |',
    );
    expect(row('imageAutomation.docsUrl')).toContain('| frontend |');
    expect(row('imageAutomation.kubernetes.clusters[].allowedKinds')).toContain(
      '`string[]`',
    );
  });
});

describe('configKeys', () => {
  const schema = `
    export interface Config {
      /** Top. */
      top?: {
        /** A list. Default none. */
        list?: Array<{
          /** Its name. */
          name: string;
        }>;
        /** Named things. */
        named?: {
          /** One of them. */
          [name: string]: {
            /**
             * Hidden.
             * @visibility secret
             */
            password?: string;
            /** Either. Default 'a'. */
            kind: 'a' | 'b';
          };
        };
        /**
         * Shown.
         * @visibility frontend
         */
        shown?: { inner?: number };
      };
    }
  `;

  it('walks nested objects, arrays of objects and index signatures in declaration order', () => {
    expect(
      configKeys('x.d.ts', schema).map(k => [
        k.path,
        k.type,
        k.required,
        k.visibility,
      ]),
    ).toEqual([
      ['top', 'object', false, 'backend'],
      ['top.list', 'object[]', false, 'backend'],
      ['top.list[].name', 'string', true, 'backend'],
      ['top.named', 'map of object', false, 'backend'],
      ['top.named.<name>', 'object', false, 'backend'],
      ['top.named.<name>.password', 'string', false, 'secret'],
      ['top.named.<name>.kind', "'a' | 'b'", true, 'backend'],
      ['top.shown', 'object', false, 'frontend'],
      // Visibility is inherited from the parent's tag.
      ['top.shown.inner', 'number', false, 'frontend'],
    ]);
  });

  it('keeps the description without tags and an undocumented key empty', () => {
    const keys = configKeys('x.d.ts', schema);
    expect(
      keys.find(k => k.path === 'top.named.<name>.password')?.description,
    ).toBe('Hidden.');
    expect(
      configKeys('y.d.ts', 'export interface Config { a?: string }')[0]
        .description,
    ).toBe('');
  });
});

describe('defaultOf', () => {
  it.each([
    ['Requests in flight per registry. Default 8.', '8'],
    [
      "`n` of the first request. Default 1000 (Flux's); quay.io rejects more than 100.",
      "1000 (Flux's)",
    ],
    [
      'Registry hosts. Default none: when absent or empty no registry is contacted.',
      'none',
    ],
    [
      'Events older than this are deleted. Default: `scanDays` (30).',
      '`scanDays` (30)',
    ],
    [
      'Where it links. Defaults to the guide, https://fluxcd.io/flux/guides/image-update/.',
      'the guide, https://fluxcd.io/flux/guides/image-update/',
    ],
    ['Whether to use it. Default true.', 'true'],
  ])('%s → %s', (description, expected) => {
    expect(defaultOf(description)).toBe(expected);
  });

  it('finds no default where the description states none', () => {
    expect(
      defaultOf('Extra CA certificates (PEM) trusted for every registry.'),
    ).toBeUndefined();
    expect(defaultOf("Flux's default is used")).toBeUndefined();
  });
});
