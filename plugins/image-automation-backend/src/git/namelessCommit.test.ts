import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { commitWithoutName } from './namelessCommit';
import { runGit } from './runGit';

// The commit object written for an author without a name, against the one `git commit` writes
// for a named author from the same index, message and time (real git, a temporary repository).

describe('commitWithoutName', () => {
  let dir: string;
  const date = '1700000000 +0000';
  const git = (args: string[], input?: string, env?: Record<string, string>) =>
    runGit(args, { cwd: dir, input, env });

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nameless-'));
    await git(['init', '--quiet', '--initial-branch=main']);
    fs.writeFileSync(path.join(dir, 'a.yaml'), 'a: 1\n');
    await git(['add', 'a.yaml']);
    const who = { NAME: 'Base', EMAIL: 'base@example.com', DATE: date };
    await git(['commit', '--quiet', '--no-gpg-sign', '-m', 'base'], '', {
      ...Object.fromEntries(
        Object.entries(who).flatMap(([k, v]) => [
          [`GIT_AUTHOR_${k}`, v],
          [`GIT_COMMITTER_${k}`, v],
        ]),
      ),
    });
    fs.writeFileSync(path.join(dir, 'a.yaml'), 'a: 2\n');
    await git(['add', 'a.yaml']);
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('writes what git commit writes, with an empty name, and moves the branch to it', async () => {
    const message = 'Update a to 2\n\nno trailing newline';
    const parent = (await git(['rev-parse', 'HEAD'])).trim();
    // What git writes for a named author: the same object but for the name.
    const named = (
      await git(
        [
          'commit',
          '--quiet',
          '--allow-empty-message',
          '--no-gpg-sign',
          '--cleanup=verbatim',
          '-F',
          '-',
        ],
        message,
        {
          GIT_AUTHOR_NAME: 'X',
          GIT_AUTHOR_EMAIL: 'bot@example.com',
          GIT_COMMITTER_NAME: 'X',
          GIT_COMMITTER_EMAIL: 'bot@example.com',
          GIT_AUTHOR_DATE: date,
          GIT_COMMITTER_DATE: date,
        },
      )
    ).trim();
    const expected = (await git(['cat-file', 'commit', 'HEAD'])).replace(
      /^(author|committer) X </gm,
      '$1  <',
    );
    await git(['reset', '--soft', parent]);

    const commit = await commitWithoutName(dir, {
      email: 'bot@example.com',
      date,
      message,
    });
    expect(named).not.toBe(commit);
    expect(await git(['cat-file', 'commit', commit])).toBe(expected);
    expect((await git(['rev-parse', 'main'])).trim()).toBe(commit);
    expect(await git(['log', '-1', '--format=[%an] [%ae]'])).toBe(
      '[] [bot@example.com]\n',
    );
    await git(['fsck', '--strict']);
  });

  it('refuses an email that would end its field or line, and writes nothing', async () => {
    const head = (await git(['rev-parse', 'HEAD'])).trim();
    for (const email of [
      'a>b@example.com',
      'a@example.com\nparent x',
      '<a@b',
    ]) {
      await expect(
        commitWithoutName(dir, { email, date, message: 'x' }),
      ).rejects.toThrow(
        "the commit author's email must not contain '<', '>' or a line break",
      );
    }
    expect((await git(['rev-parse', 'HEAD'])).trim()).toBe(head);
  });
});
