import fs from 'node:fs';
import path from 'node:path';
import { ImageRef } from '@imageops/backstage-plugin-image-automation-common';
import {
  applySetters,
  FoundMarker,
  SetterChange,
  SetterWarning,
} from './applySetters';
import { findLegacyMarkers, LEGACY_MARKER_KEY, MARKER_KEY } from './readMarker';

/** Changes by file (relative to the update path, `/`-separated), as Flux's `update.Result`. @internal */
export interface TreeSetterResult {
  fileChanges: Map<string, SetterChange[]>;
  warnings: SetterWarning[];
  /** Every marker found, changed or not, in walk order. */
  markers: FoundMarker[];
  /** The text of each changed file before and after, relative path as in `fileChanges`. */
  texts: Map<string, { before: string; after: string }>;
  /** The files written (not in a dry run), relative to the repository's real root, `/`-separated. */
  written: string[];
}

/** Flux's `ScreeningLocalReader` file filter. */
function isManifestFile(name: string): boolean {
  return (
    path.extname(name) === '.yaml' ||
    path.extname(name) === '.yml' ||
    name === 'Kustomization'
  );
}

const MARKER_BYTES = Buffer.from(`"${MARKER_KEY}"`);
const LEGACY_MARKER_BYTES = Buffer.from(`"${LEGACY_MARKER_KEY}"`);

/** The warning for a marker written without `$`, which Flux ignores (issue #14). @internal */
export function legacyMarkerMessage(setter: string): string {
  return `not updated: the marker {"${LEGACY_MARKER_KEY}": ${JSON.stringify(
    setter,
  )}} has no "$" and is ignored, as Flux ignores it; write # {"${MARKER_KEY}": ${JSON.stringify(
    setter,
  )}}`;
}

/** A manifest file found by the walk; `linked` when it is a symlink, whose target must be checked. */
interface WalkedFile {
  path: string;
  linked: boolean;
}

async function* walk(dir: string, root: string): AsyncGenerator<WalkedFile> {
  const entries = await fs.promises.readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => Number(a.name > b.name) - Number(a.name < b.name));
  for (const entry of entries) {
    const full = path.join(dir, entry.name);
    // Hidden directories are walked too (`.github/`), as Flux does; `.git` holds no manifests.
    // A symlinked directory is not a directory here, so the walk never leaves the tree.
    if (entry.isDirectory()) {
      if (!(dir === root && entry.name === '.git')) yield* walk(full, root);
    } else if (
      (entry.isFile() || entry.isSymbolicLink()) &&
      isManifestFile(entry.name)
    ) {
      yield { path: full, linked: entry.isSymbolicLink() };
    }
  }
}

/**
 * Files are read synchronously, in slices with a turn of the event loop between them: reading a
 * small file through the thread pool (open, fstat, read, close, each a round trip) costs ten times
 * what the read does, so a tree of 1,000 manifests took 50–80 ms instead of a few; the slices keep
 * a large tree from holding the event loop.
 */
const SLICE_FILES = 64;
const SLICE_BYTES = 4 * 1024 * 1024;

/**
 * Applies the setters of the given policies to every manifest under `updatePath` (a
 * directory or one file inside `repoRoot`), writing the files that changed. Symlinked files
 * are read and written only when they resolve inside the repository.
 * @internal
 */
export async function applyPoliciesToTree(options: {
  repoRoot: string;
  updatePath: string;
  namespace: string;
  policies: ReadonlyMap<string, ImageRef | undefined>;
  /** Policies whose markers keep their values. */
  held?: ReadonlySet<string>;
  /** Report changes without writing files. */
  dryRun?: boolean;
}): Promise<TreeSetterResult> {
  const { repoRoot, updatePath, namespace, policies, held } = options;
  const realRoot = await fs.promises.realpath(repoRoot);
  let stat: fs.Stats;
  try {
    stat = await fs.promises.stat(updatePath);
  } catch (error) {
    const relative = path.relative(repoRoot, updatePath) || '.';
    throw new Error(
      `walking path for files: lstat ${relative}: no such file or directory`,
      { cause: error },
    );
  }
  const base = stat.isDirectory() ? updatePath : path.dirname(updatePath);
  // A regular file found under a walk root inside the repository is inside it too: only symlinks,
  // a single-file path and a walk root that itself leads out need their real path checked.
  const realBase = await fs.promises
    .realpath(updatePath)
    .catch(() => undefined);
  const rootInside =
    stat.isDirectory() &&
    realBase !== undefined &&
    (realBase === realRoot || realBase.startsWith(realRoot + path.sep));
  const files: AsyncIterable<WalkedFile> = stat.isDirectory()
    ? walk(updatePath, repoRoot)
    : (async function* one() {
        yield { path: updatePath, linked: true };
      })();
  const fileChanges = new Map<string, SetterChange[]>();
  const warnings: SetterWarning[] = [];
  const markers: FoundMarker[] = [];
  const texts = new Map<string, { before: string; after: string }>();
  const written: string[] = [];
  // Each file's real path and content.
  const read = (file: WalkedFile) => {
    let real = file.path;
    if (file.linked || !rootInside) {
      try {
        real = fs.realpathSync(file.path);
      } catch {
        return { real, outside: false, bytes: undefined }; // a dangling symlink, skipped as Flux skips unreadable files
      }
      if (real !== realRoot && !real.startsWith(realRoot + path.sep))
        return { real, outside: true, bytes: undefined };
      if (!fs.statSync(real).isFile())
        return { real, outside: false, bytes: undefined }; // a symlink to a directory is not followed
    }
    return { real, outside: false, bytes: fs.readFileSync(real) };
  };
  let sliceFiles = 0;
  let sliceBytes = 0;
  for await (const walked of files) {
    if (++sliceFiles > SLICE_FILES || sliceBytes > SLICE_BYTES) {
      await new Promise<void>(resolve => setImmediate(resolve));
      sliceFiles = 1;
      sliceBytes = 0;
    }
    const relative = path.relative(base, walked.path).split(path.sep).join('/');
    const { real, outside, bytes } = read(walked);
    sliceBytes += bytes?.length ?? 0;
    if (outside) {
      warnings.push({
        file: relative,
        line: 0,
        message: 'not updated: the symlink points outside the repository',
      });
      continue;
    }
    if (!bytes) continue;
    const marked = bytes.includes(MARKER_BYTES);
    if (!marked && !bytes.includes(LEGACY_MARKER_BYTES)) continue;
    const before = bytes.toString('utf8');
    for (const legacy of findLegacyMarkers(before)) {
      warnings.push({
        file: relative,
        line: legacy.line,
        message: legacyMarkerMessage(legacy.setter),
      });
    }
    if (!marked) continue;
    const result = applySetters({
      file: relative,
      text: before,
      namespace,
      policies,
      held,
    });
    warnings.push(...result.warnings);
    markers.push(...result.markers);
    if (result.text === undefined) continue;
    fileChanges.set(relative, result.changes);
    texts.set(relative, { before, after: result.text });
    if (!options.dryRun) {
      fs.writeFileSync(real, result.text);
      written.push(path.relative(realRoot, real).split(path.sep).join('/'));
    }
  }
  return { fileChanges, warnings, markers, texts, written };
}
