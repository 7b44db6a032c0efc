import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GitCommandError, runGit } from './runGit';
import { MAX_MESSAGE_LENGTH } from '../util/truncateMessage';

// Issue #13: a remote (or a hook) can write megabytes to git's stderr; the error kept and
// shown from it is bounded. Real git, a hook writing 8 MB to stderr.
describe('runGit with a flood on stderr', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'rungit-stderr-'));
    await runGit(['init', '-q', '-b', 'main', dir]);
    const hook = path.join(dir, '.git', 'hooks', 'pre-commit');
    await fs.promises.writeFile(
      hook,
      `#!/bin/sh\necho "error: first line from the hook" >&2\nyes 'error: remote says no' | head -c 8000000 >&2\necho >&2\necho "fatal: https://user:s3cret@example.com/repo rejected" >&2\nexit 1\n`,
      { mode: 0o755 },
    );
  });
  afterAll(() => fs.promises.rm(dir, { recursive: true, force: true }));

  it('keeps a bounded message and stderr, and no half-redacted URL', async () => {
    const env = {
      GIT_AUTHOR_NAME: 't',
      GIT_AUTHOR_EMAIL: 't@e',
      GIT_COMMITTER_NAME: 't',
      GIT_COMMITTER_EMAIL: 't@e',
    };
    const error = await runGit(['commit', '--allow-empty', '-m', 'x'], {
      cwd: dir,
      env,
      config: { 'core.hooksPath': path.join(dir, '.git', 'hooks') },
    }).then(
      () => undefined,
      e => e,
    );
    expect(error).toBeInstanceOf(GitCommandError);
    expect(error.message.length).toBeLessThanOrEqual(MAX_MESSAGE_LENGTH);
    expect(error.stderr.length).toBeLessThanOrEqual(MAX_MESSAGE_LENGTH);
    expect(error.message).toMatch(
      /^error: first line from the hook; error: remote says no; error: remote says no;/,
    );
    expect(error.message).toMatch(/more characters\)$/);
    expect(`${error.message}${error.stderr}`).not.toContain('s3cret');
  });
});
