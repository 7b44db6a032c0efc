import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { UrlReaderService } from '@backstage/backend-plugin-api';
import { NotAllowedError } from '@backstage/errors';

/**
 * Reads manifest files: URLs through Backstage's URL reader (integrations, allow-listed
 * hosts), local files only below the configured roots.
 * @internal
 */
export class ManifestReader {
  private readonly roots: string[];

  constructor(
    private readonly urlReader: UrlReaderService,
    fileRoots: string[],
  ) {
    this.roots = fileRoots.map(root => path.resolve(root));
  }

  /**
   * Resolves a location written in an annotation or config against a base (the entity's
   * source location), giving a `file:` or `http(s):` URL.
   */
  static resolve(target: string, base?: string): string {
    const trimmed = target.trim();
    if (/^[a-z][a-z0-9+.-]*:/i.test(trimmed)) {
      return trimmed;
    }
    if (base) {
      return new URL(trimmed, base).toString();
    }
    return new URL(`file://${path.resolve(trimmed)}`).toString();
  }

  /**
   * Whether an entity may read `location` (resolved): an `http(s)` location must lie under the
   * directory of the entity's own source location (`base`), on the same origin, or under one of
   * `prefixes` (`imageAutomation.manifestUrlPrefixes`, whole path segments). Without this an
   * annotation, even a relative one (`../../other-repo/…`), could have the URL reader fetch any
   * file the Backstage integrations can read. `file:` locations are bound by `fileRoots`.
   */
  static entityMayRead(
    location: string,
    base: string | undefined,
    prefixes: readonly string[],
  ): boolean {
    if (location.startsWith('file:')) return true;
    let url: URL;
    try {
      url = new URL(location);
    } catch {
      return false;
    }
    const under = (prefix: string) => {
      let p: URL;
      try {
        p = new URL(prefix);
      } catch {
        return false;
      }
      const dir = p.pathname.endsWith('/') ? p.pathname : `${p.pathname}/`;
      return (
        url.origin === p.origin &&
        (url.pathname === p.pathname || url.pathname.startsWith(dir))
      );
    };
    if (base && /^https?:/.test(base) && under(new URL('.', base).toString()))
      return true;
    return prefixes.some(under);
  }

  async read(location: string): Promise<string> {
    if (location.startsWith('file:')) {
      return this.readFile(fileURLToPath(location));
    }
    const response = await this.urlReader.readUrl(location);
    return (await response.buffer()).toString('utf8');
  }

  private async readFile(file: string): Promise<string> {
    const real = await fs.realpath(file);
    const roots = await Promise.all(
      this.roots.map(root => fs.realpath(root).catch(() => root)),
    );
    const inside = roots.some(
      root => real === root || real.startsWith(root + path.sep),
    );
    if (!inside) {
      throw new NotAllowedError(
        `${file} is outside imageAutomation.fileRoots; add its directory there to read it`,
      );
    }
    return fs.readFile(real, 'utf8');
  }
}
