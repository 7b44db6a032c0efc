/**
 * Validation of everything a manifest can make reach git's command line: ref names (git's
 * `check-ref-format` rules), branch names, refspecs, commit hashes and push options. Whatever
 * could be read by git as an option (a leading `-`) is refused, so a manifest cannot turn a
 * push into `--mirror`, `--delete` or `--force`.
 */

/** Thrown for a reference, refspec or option a manifest gives that git must never see. @internal */
export class InvalidGitArgumentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidGitArgumentError';
  }
}

/**
 * Why `name` is not a valid ref name by `git check-ref-format` (with `--allow-onelevel` when
 * `oneLevel`), or undefined when it is. A leading `-` is refused too.
 * @internal
 */
export function refNameProblem(
  name: string,
  options: { oneLevel?: boolean } = {},
): string | undefined {
  if (name === '') return 'it is empty';
  if (name.startsWith('-')) return "it starts with '-'";
  if (name === '@') return "it is '@'";
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x20\x7f~^:?*[\\]/.test(name))
    return 'it contains a space, a control character or one of ~ ^ : ? * [ \\';
  if (name.includes('..')) return "it contains '..'";
  if (name.includes('@{')) return "it contains '@{'";
  if (name.startsWith('/') || name.endsWith('/') || name.includes('//'))
    return "it has an empty '/'-separated component";
  if (name.endsWith('.')) return "it ends with '.'";
  for (const component of name.split('/')) {
    if (component.startsWith('.')) return "a component starts with '.'";
    if (component.endsWith('.lock')) return "a component ends with '.lock'";
  }
  if (!options.oneLevel && !name.includes('/')) return "it has no '/'";
  return undefined;
}

/** A valid branch name (`git check-ref-format --branch`), or throws. @internal */
export function checkBranchName(name: string, what = 'branch'): string {
  if (name === 'HEAD')
    throw new InvalidGitArgumentError(
      `invalid ${what} '${name}': HEAD is not a branch`,
    );
  const problem = name.startsWith('-')
    ? "it starts with '-'"
    : refNameProblem(`refs/heads/${name}`);
  if (problem)
    throw new InvalidGitArgumentError(`invalid ${what} '${name}': ${problem}`);
  return name;
}

/** A valid tag name, or throws. @internal */
export function checkTagName(name: string, what = 'tag'): string {
  const problem = name.startsWith('-')
    ? "it starts with '-'"
    : refNameProblem(`refs/tags/${name}`);
  if (problem)
    throw new InvalidGitArgumentError(`invalid ${what} '${name}': ${problem}`);
  return name;
}

/** A full commit hash (SHA-1 or SHA-256, hex), or throws. @internal */
export function checkCommitHash(hash: string, what = 'commit'): string {
  if (!/^[0-9a-f]{40}$|^[0-9a-f]{64}$/i.test(hash)) {
    throw new InvalidGitArgumentError(
      `invalid ${what} '${hash}': it is not a full hexadecimal commit hash`,
    );
  }
  return hash;
}

/**
 * A push refspec `<src>:<dst>`: both sides valid ref names (`HEAD` allowed as source), no force
 * (`+`), no deletion (empty source), no patterns, nothing git could take for an option.
 * @internal
 */
export function checkPushRefspec(refspec: string): string {
  const fail = (why: string) => {
    throw new InvalidGitArgumentError(
      `invalid push refspec '${refspec}': ${why}`,
    );
  };
  if (refspec.startsWith('-'))
    fail("it starts with '-', which git would read as an option");
  if (refspec.startsWith('+')) fail("forced updates ('+') are not allowed");
  const parts = refspec.split(':');
  if (parts.length !== 2) fail("it must be '<src>:<dst>'");
  const [src, dst] = parts;
  if (src === '') fail('an empty source would delete the destination');
  if (dst === '') fail('the destination is empty');
  if (src !== 'HEAD') {
    const problem = refNameProblem(src, { oneLevel: true });
    if (problem) fail(`source '${src}': ${problem}`);
  }
  const problem = refNameProblem(dst, { oneLevel: true });
  if (problem) fail(`destination '${dst}': ${problem}`);
  return refspec;
}

/** A push option `key` or `key=value`: no leading `-`, no control characters (git refuses newlines). @internal */
export function checkPushOption(key: string, value: string): string {
  // eslint-disable-next-line no-control-regex
  if (key === '' || key.startsWith('-') || /[\x00-\x1f\x7f=]/.test(key)) {
    throw new InvalidGitArgumentError(
      `invalid push option '${key}': a key must be non-empty, not start with '-' and have no '=' or control characters`,
    );
  }
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(value)) {
    throw new InvalidGitArgumentError(
      `invalid push option '${key}': its value has control characters`,
    );
  }
  return value === '' ? key : `${key}=${value}`;
}
