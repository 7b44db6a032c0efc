import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { secureJoin } from './secureJoin';

// `update.path` comes from catalog authors (untrusted): whatever it says, the joined path must stay
// inside the checkout. These cases pin down how `.`, `..`, repeated separators and symlinks resolve.
describe('secureJoin', () => {
  let root: string;
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'securejoin-'));
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  it('skips `.` so that a following `..` climbs from the component before it', async () => {
    expect(await secureJoin(root, 'a/./..')).toBe(root);
    expect(await secureJoin(root, 'a/b/./../c')).toBe(path.join(root, 'a/c'));
  });

  it('drops empty components: trailing and repeated separators, backslashes', async () => {
    expect(await secureJoin(root, 'a/')).toBe(path.join(root, 'a'));
    expect(await secureJoin(root, '/a//b\\c/')).toBe(path.join(root, 'a/b/c'));
    expect(await secureJoin(root, '')).toBe(root);
  });

  it('resolves a relative link target from the link’s own directory', async () => {
    fs.mkdirSync(path.join(root, 'sub/real'), { recursive: true });
    fs.symlinkSync('real', path.join(root, 'sub/rel'));
    expect(await secureJoin(root, 'sub/rel/x')).toBe(
      path.join(root, 'sub/real/x'),
    );
  });

  it('resolves an absolute link target from the root, wherever the link is', async () => {
    fs.mkdirSync(path.join(root, 'sub'));
    fs.symlinkSync('/etc', path.join(root, 'sub/abs'));
    expect(await secureJoin(root, 'sub/abs/passwd')).toBe(
      path.join(root, 'etc/passwd'),
    );
  });

  it('drops empty components of a link target', async () => {
    fs.mkdirSync(path.join(root, 'real'));
    fs.symlinkSync('real/', path.join(root, 'slash'));
    expect(await secureJoin(root, 'slash')).toBe(path.join(root, 'real'));
    // An empty component kept from 'real/' would take the place of 'real' for the second '..'.
    expect(await secureJoin(root, 'slash/x/../..')).toBe(root);
  });

  it('follows a chain of 255 links and refuses a longer one or a loop, naming the path', async () => {
    fs.mkdirSync(path.join(root, 'real'));
    const chain = (links: number) => {
      const dir = fs.mkdtempSync(path.join(root, 'chain-'));
      fs.symlinkSync('/real', path.join(dir, `l${links}`));
      for (let i = links - 1; i >= 1; i--)
        fs.symlinkSync(`l${i + 1}`, path.join(dir, `l${i}`));
      return path.relative(root, path.join(dir, 'l1'));
    };
    expect(await secureJoin(root, `${chain(255)}/x`)).toBe(
      path.join(root, 'real/x'),
    );
    const tooLong = chain(256);
    await expect(secureJoin(root, tooLong)).rejects.toThrow(
      `securejoin: too many symlinks resolving ${tooLong}`,
    );
    fs.symlinkSync('loop', path.join(root, 'loop'));
    await expect(secureJoin(root, 'loop/x')).rejects.toThrow(
      'securejoin: too many symlinks resolving loop/x',
    );
  });
});
