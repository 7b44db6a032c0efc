import fs from 'node:fs';
import path from 'node:path';

const MAX_LINKS = 255;

/**
 * Joins `unsafePath` to `root` so that the result stays inside `root`, as Go's
 * `securejoin.SecureJoin` (used by Flux for `update.path`) does: `..` cannot climb above the
 * root, and symlinks are resolved as if `root` were `/` (an absolute or escaping link target
 * lands inside the root too).
 * @internal
 */
export async function secureJoin(
  root: string,
  unsafePath: string,
): Promise<string> {
  const pending = unsafePath.split(/[/\\]+/).filter(Boolean);
  const resolved: string[] = [];
  let links = 0;
  while (pending.length > 0) {
    const part = pending.shift()!;
    if (part === '.') continue;
    if (part === '..') {
      resolved.pop();
      continue;
    }
    const candidate = path.join(root, ...resolved, part);
    let target: string | undefined;
    try {
      if ((await fs.promises.lstat(candidate)).isSymbolicLink()) {
        target = await fs.promises.readlink(candidate);
      }
    } catch {
      // A missing component is fine: the caller reports a path that does not exist.
    }
    if (target === undefined) {
      resolved.push(part);
      continue;
    }
    if (++links > MAX_LINKS)
      throw new Error(`securejoin: too many symlinks resolving ${unsafePath}`);
    if (path.isAbsolute(target)) resolved.length = 0;
    pending.unshift(...target.split(/[/\\]+/).filter(Boolean));
  }
  return path.join(root, ...resolved);
}
