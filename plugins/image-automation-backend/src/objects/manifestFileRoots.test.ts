import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigReader } from '@backstage/config';
import { mockServices } from '@backstage/backend-test-utils';
import { UrlReaders } from '@backstage/backend-defaults/urlReader';
import { NotAllowedError } from '@backstage/errors';
import { ManifestReader } from './ManifestReader';

// Local manifest files are read only below imageAutomation.fileRoots, judged on the real path (so a
// symlink cannot lead out), and locations resolve against the entity's source like catalog targets.
describe('ManifestReader file roots', () => {
  let dir: string;
  let root: string;
  const urlReader = UrlReaders.default({
    config: new ConfigReader({}),
    logger: mockServices.logger.mock(),
  });
  beforeEach(() => {
    dir = fs.realpathSync(
      fs.mkdtempSync(path.join(os.tmpdir(), 'manifest-roots-')),
    );
    root = path.join(dir, 'root');
    fs.mkdirSync(path.join(root, 'deploy'), { recursive: true });
    fs.writeFileSync(path.join(root, 'deploy/app.yaml'), 'kind: A\n');
    fs.mkdirSync(path.join(dir, 'root-other'));
    fs.writeFileSync(path.join(dir, 'root-other/app.yaml'), 'kind: B\n');
    fs.writeFileSync(path.join(dir, 'secret.yaml'), 'kind: Secret\n');
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const read = (roots: string[], file: string) =>
    new ManifestReader(urlReader, roots).read(pathToFileURL(file).toString());

  it('reads files below a root, given relative or with a trailing slash', async () => {
    expect(await read([root], path.join(root, 'deploy/app.yaml'))).toBe(
      'kind: A\n',
    );
    expect(await read([`${root}/`], path.join(root, 'deploy/app.yaml'))).toBe(
      'kind: A\n',
    );
    expect(
      await read(
        [path.relative(process.cwd(), root)],
        path.join(root, 'deploy/app.yaml'),
      ),
    ).toBe('kind: A\n');
  });

  it('reads a root that is itself a file', async () => {
    const file = path.join(root, 'deploy/app.yaml');
    expect(await read([file], file)).toBe('kind: A\n');
  });

  it('refuses files outside every root, naming the file and the setting', async () => {
    const outside = path.join(dir, 'secret.yaml');
    await expect(read([root], outside)).rejects.toThrow(NotAllowedError);
    await expect(read([root], outside)).rejects.toThrow(
      `${outside} is outside imageAutomation.fileRoots; add its directory there to read it`,
    );
    await expect(read([], path.join(root, 'deploy/app.yaml'))).rejects.toThrow(
      'is outside imageAutomation.fileRoots',
    );
  });

  it('refuses a sibling directory that only starts with the root name', async () => {
    await expect(
      read([root], path.join(dir, 'root-other/app.yaml')),
    ).rejects.toThrow('is outside imageAutomation.fileRoots');
  });

  it('judges the real path: a symlink inside a root cannot lead out of it', async () => {
    fs.symlinkSync(
      path.join(dir, 'secret.yaml'),
      path.join(root, 'deploy/link.yaml'),
    );
    await expect(
      read([root], path.join(root, 'deploy/link.yaml')),
    ).rejects.toThrow('is outside imageAutomation.fileRoots');
  });

  it('matches a root given through a symlink by its real path, and keeps a missing root as written', async () => {
    fs.symlinkSync(root, path.join(dir, 'alias'));
    expect(
      await read([path.join(dir, 'alias')], path.join(root, 'deploy/app.yaml')),
    ).toBe('kind: A\n');
    await expect(
      read([path.join(dir, 'missing')], path.join(root, 'deploy/app.yaml')),
    ).rejects.toThrow('outside');
    expect(
      await read(
        [path.join(dir, 'missing'), root],
        path.join(root, 'deploy/app.yaml'),
      ),
    ).toBe('kind: A\n');
  });
});

describe('ManifestReader.resolve', () => {
  const base = 'https://git.example.com/org/app/blob/main/catalog-info.yaml';

  it('keeps absolute locations of any scheme, trimmed', () => {
    expect(
      ManifestReader.resolve('  https://other.example.com/x.yaml ', base),
    ).toBe('https://other.example.com/x.yaml');
    expect(
      ManifestReader.resolve('HTTPS://other.example.com/x.yaml', base),
    ).toBe('HTTPS://other.example.com/x.yaml');
    expect(ManifestReader.resolve('git+ssh://host/x.yaml')).toBe(
      'git+ssh://host/x.yaml',
    );
    expect(ManifestReader.resolve('file:///srv/x.yaml', base)).toBe(
      'file:///srv/x.yaml',
    );
  });

  it('resolves a relative location against the base, or else against the working directory', () => {
    expect(ManifestReader.resolve(' ./deploy/x.yaml ', base)).toBe(
      'https://git.example.com/org/app/blob/main/deploy/x.yaml',
    );
    expect(ManifestReader.resolve('deploy/x.yaml')).toBe(
      pathToFileURL(path.resolve('deploy/x.yaml')).toString(),
    );
    expect(ManifestReader.resolve(' deploy/x.yaml ')).toBe(
      pathToFileURL(path.resolve('deploy/x.yaml')).toString(),
    );
    // A leading digit or symbol is not a scheme.
    expect(ManifestReader.resolve('1x:y.yaml', base)).toBe(
      'https://git.example.com/org/app/blob/main/1x:y.yaml',
    );
  });
});

describe('ManifestReader.entityMayRead edge cases', () => {
  const base = 'https://git.example.com/org/app/catalog-info.yaml';

  it('refuses an unparsable location and ignores unparsable prefixes', () => {
    expect(
      ManifestReader.entityMayRead('not a url', base, [
        'https://git.example.com',
      ]),
    ).toBe(false);
    expect(
      ManifestReader.entityMayRead(
        'https://git.example.com/shared/x.yaml',
        base,
        ['not a url', 'https://git.example.com/shared'],
      ),
    ).toBe(true);
    expect(
      ManifestReader.entityMayRead(
        'https://git.example.com/shared/x.yaml',
        base,
        ['not a url'],
      ),
    ).toBe(false);
  });

  it('allows a prefix naming the file itself, or ending in a slash', () => {
    expect(
      ManifestReader.entityMayRead(
        'https://git.example.com/shared/x.yaml',
        undefined,
        ['https://git.example.com/shared/x.yaml'],
      ),
    ).toBe(true);
    expect(
      ManifestReader.entityMayRead(
        'https://git.example.com/shared/x.yaml',
        undefined,
        ['https://git.example.com/shared/'],
      ),
    ).toBe(true);
    expect(
      ManifestReader.entityMayRead(
        'https://git.example.com/shared/x.yaml',
        undefined,
        ['http://git.example.com/shared/'],
      ),
    ).toBe(false);
  });

  it('grants nothing from a source that is not http(s), even one that mentions https:', () => {
    // Non-http(s) URLs all have the opaque origin 'null', so they would all look "same-origin".
    expect(
      ManifestReader.entityMayRead(
        'git+https://git.example.com/org/app/x.yaml',
        'git+https://git.example.com/org/app/catalog-info.yaml',
        [],
      ),
    ).toBe(false);
  });

  it('uses an http: source directory like an https: one', () => {
    expect(
      ManifestReader.entityMayRead(
        'http://git.example.com/org/app/x.yaml',
        'http://git.example.com/org/app/catalog-info.yaml',
        [],
      ),
    ).toBe(true);
  });
});
