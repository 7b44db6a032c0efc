import { execFileSync } from 'node:child_process';
import {
  checkBranchName,
  checkPushOption,
  checkPushRefspec,
  refNameProblem,
} from './refFormat';

describe('refFormat (#13: nothing a manifest gives reaches git as an option)', () => {
  it('agrees with git check-ref-format on valid and invalid names', () => {
    const names = [
      'refs/heads/main',
      'refs/heads/feature/x',
      'refs/tags/v1.0.0',
      'refs/heads/a.b',
      'refs/pull/1/head',
      'refs/heads/.hidden',
      'refs/heads/x.lock',
      'refs/heads/a..b',
      'refs/heads/a b',
      'refs/heads/a~1',
      'refs/heads/a^',
      'refs/heads/a:b',
      'refs/heads/a?',
      'refs/heads/*',
      'refs/heads/[x',
      'refs/heads/a\\b',
      'refs/heads/',
      '/refs/heads/x',
      'refs//heads/x',
      'refs/heads/x.',
      'refs/heads/a@{1}',
      '@',
      'main',
    ];
    for (const name of names) {
      let gitSays = true;
      try {
        execFileSync('git', ['check-ref-format', name], { stdio: 'ignore' });
      } catch {
        gitSays = false;
      }
      expect([name, refNameProblem(name) === undefined]).toEqual([
        name,
        gitSays,
      ]);
    }
  });

  it('refuses names, refspecs and options that start with -', () => {
    expect(refNameProblem('--mirror', { oneLevel: true })).toBe(
      "it starts with '-'",
    );
    expect(() => checkBranchName('-f')).toThrow(
      "invalid branch '-f': it starts with '-'",
    );
    expect(() => checkBranchName('HEAD')).toThrow('HEAD is not a branch');
    expect(() => checkPushRefspec('--mirror')).toThrow(
      "invalid push refspec '--mirror': it starts with '-'",
    );
    expect(() => checkPushRefspec('--delete=x:y')).toThrow(
      "it starts with '-'",
    );
    expect(() => checkPushRefspec('refs/heads/a:--all')).toThrow(
      "destination '--all': it starts with '-'",
    );
    expect(() => checkPushRefspec('refs/heads/main')).toThrow(
      "it must be '<src>:<dst>'",
    );
    expect(() => checkPushRefspec('a:b:c')).toThrow("it must be '<src>:<dst>'");
    expect(() => checkPushOption('--force', '')).toThrow(
      "invalid push option '--force'",
    );
    expect(() => checkPushOption('ci', 'a\nb')).toThrow('control characters');
  });

  it('accepts Flux refspecs and push options', () => {
    expect(checkPushRefspec('refs/heads/main:refs/heads/auto')).toBe(
      'refs/heads/main:refs/heads/auto',
    );
    expect(checkPushRefspec('HEAD:refs/for/main')).toBe('HEAD:refs/for/main');
    expect(checkPushRefspec('main:review')).toBe('main:review');
    expect(checkPushOption('merge_request.create', '')).toBe(
      'merge_request.create',
    );
    expect(checkPushOption('ci', 'skip')).toBe('ci=skip');
    expect(checkBranchName('image-updates/web')).toBe('image-updates/web');
  });
});
