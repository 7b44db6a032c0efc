import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { CommitSigner } from './commitSigner';
import { runGit } from './runGit';

/**
 * Commits the index as an author without a name. Flux's schema makes the name optional and go-git
 * then writes `author  <email> …`; `git commit` refuses an empty name, so this commit object is
 * written with git's plumbing (as `git commit --cleanup=verbatim` writes it, byte for byte, apart
 * from the name) and signed the way git signs, with the signer's program and key. Returns its hash.
 * @internal
 */
export async function commitWithoutName(
  dir: string,
  options: {
    email: string;
    /** `<seconds> +0000` */
    date: string;
    message: string;
    signer?: CommitSigner;
  },
): Promise<string> {
  // The email is written into the object as it is: nothing in it may end the field or the line.
  if (/[<>\n\0]/.test(options.email)) {
    throw new Error(
      `the commit author's email must not contain '<', '>' or a line break: '${options.email.replace(
        /\n/g,
        '\\n',
      )}'`,
    );
  }
  const tree = (await runGit(['write-tree'], { cwd: dir })).trim();
  const parent = (
    await runGit(['rev-parse', '--verify', 'HEAD'], { cwd: dir })
  ).trim();
  const ident = ` <${options.email}> ${options.date}`;
  const header = `tree ${tree}\nparent ${parent}\nauthor ${ident}\ncommitter ${ident}\n`;
  let object = `${header}\n${options.message}`;
  if (options.signer) {
    const signature = await sign(object, options.signer, dir);
    // The signature is a header of its own: every line after the first starts with a space.
    object = `${header}gpgsig ${signature.trimEnd().replace(/\n/g, '\n ')}\n\n${
      options.message
    }`;
  }
  const commit = (
    await runGit(['hash-object', '-t', 'commit', '-w', '--stdin'], {
      cwd: dir,
      input: object,
    })
  ).trim();
  await runGit(['update-ref', 'HEAD', commit, parent], { cwd: dir });
  return commit;
}

/** A detached signature of `payload`, made as `git commit -S` makes it with the signer's settings. */
async function sign(
  payload: string,
  signer: CommitSigner,
  dir: string,
): Promise<string> {
  const key = signer.config['user.signingkey'];
  const env = { ...process.env, ...signer.env };
  if (signer.config['gpg.format'] === 'ssh') {
    const file = path.join(dir, '.git', 'commit-payload');
    await fs.promises.writeFile(file, payload);
    try {
      await run('ssh-keygen', ['-Y', 'sign', '-n', 'git', '-f', key, file], {
        env,
      });
      return await fs.promises.readFile(`${file}.sig`, 'utf8');
    } finally {
      await fs.promises.rm(file, { force: true });
      await fs.promises.rm(`${file}.sig`, { force: true });
    }
  }
  const { stdout, stderr } = await run(
    signer.config['gpg.program'] ?? 'gpg',
    ['--status-fd=2', '-bsau', key],
    { env, input: payload },
  );
  if (!/^\[GNUPG:\] SIG_CREATED /m.test(stderr)) {
    throw new Error(`gpg failed to sign the data: ${stderr.trim()}`);
  }
  return stdout;
}

function run(
  file: string,
  args: string[],
  options: { env: NodeJS.ProcessEnv; input?: string },
): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      file,
      args,
      { env: options.env, maxBuffer: 1024 * 1024, timeout: 60_000 },
      (error, stdout, stderr) => {
        if (error) {
          reject(
            new Error(
              `${path.basename(file)} failed to sign the commit: ${
                stderr.trim() || error.message
              }`,
            ),
          );
        } else resolve({ stdout, stderr });
      },
    );
    child.stdin?.end(options.input ?? '');
  });
}
