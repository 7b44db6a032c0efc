import {
  branchInput,
  gitlabSlug,
  pagedJson,
  pullRequestInput,
  selectBranches,
  selectPullRequests,
  selectTags,
  tagInput,
  filterProblem,
  PullRequestItem,
  branchesComplete,
} from './forge';
import { SourceHttp } from './http';

// spec.filter on Git-forge items and the inputs they export, as the Flux Operator defines them
// (the vectors of its filtering tests, re-stated in the spec this project follows).

const refs = (...names: string[]) =>
  names.map(name => ({ name, sha: `sha-${name}` }));
const names = (selection: { ok: boolean; items?: Array<{ name: string }> }) =>
  selection.ok ? selection.items!.map(i => i.name) : selection;

describe('Git-forge filters', () => {
  it('orders and limits tags as the Flux Operator does', () => {
    expect(
      names(selectTags(undefined, refs('v1.0.0', 'v1.1.0', 'v2.0.0'))),
    ).toEqual(['v2.0.0', 'v1.1.0', 'v1.0.0']);
    expect(
      names(
        selectTags(
          { includeTag: '^v1\\.' },
          refs('v1.0.0', 'v1.1.0', 'v2.0.0'),
        ),
      ),
    ).toEqual(['v1.1.0', 'v1.0.0']);
    expect(
      names(
        selectTags(
          { includeTag: '^v1\\.', excludeTag: '^v1\\.0\\.0$' },
          refs('v1.0.0', 'v1.1.0', 'v2.0.0', 'v1.2.0'),
        ),
      ),
    ).toEqual(['v1.2.0', 'v1.1.0']);
    expect(
      names(
        selectTags(
          { semver: '>= 1.0.0 < 2.0.0' },
          refs('v1.0.0', 'v1.1.0', 'v2.0.0', 'v1.2.0'),
        ),
      ),
    ).toEqual(['v1.2.0', 'v1.1.0', 'v1.0.0']);
    expect(
      names(
        selectTags({ limit: 2 }, refs('v1.0.0', 'v1.1.0', 'v2.0.0', 'v1.2.0')),
      ),
    ).toEqual(['v2.0.0', 'v1.2.0']);
    expect(
      names(
        selectTags(
          { semver: '>= 1.0.0 < 2.0.0', limit: 1 },
          refs('v1.0.0', 'v1.1.0', 'v2.0.0', 'v1.2.0'),
        ),
      ),
    ).toEqual(['v1.2.0']);
    expect(
      names(
        selectTags(
          {
            includeTag: '^v',
            excludeTag: '^v1\\.0',
            semver: '>= 1.0.0 < 2.0.0',
          },
          refs('rubbish', 'v1.0.0', 'v1.1.0', 'garbage', 'v2.0.0', 'v1.2.0'),
        ),
      ),
    ).toEqual(['v1.2.0', 'v1.1.0']);
    expect(
      names(
        selectTags(
          { limit: 1 },
          refs('2024.01.01', '2024.01.03', '2024.01.02'),
        ),
      ),
    ).toEqual(['2024.01.03']);
    // A tag listed twice keeps the metadata of its last listing.
    expect(
      selectTags(undefined, [
        { name: 'v1', sha: 'a' },
        { name: 'v1', sha: 'b' },
      ]),
    ).toEqual({ ok: true, items: [{ name: 'v1', sha: 'b' }] });
  });

  it('keeps branches in API order, with the last non-empty include and exclude, up to the limit (default 100)', () => {
    expect(
      names(
        selectBranches(
          { includeBranch: '^feat-', excludeBranch: 'wip' },
          refs('main', 'feat-b', 'feat-a-wip', 'feat-a'),
        ),
      ),
    ).toEqual(['feat-b', 'feat-a']);
    // includeTag is set after includeBranch: only includeTag counts.
    expect(
      names(
        selectBranches(
          { includeBranch: '^feat-', includeTag: '^main$' },
          refs('main', 'feat-b'),
        ),
      ),
    ).toEqual(['main']);
    const many = refs(...Array.from({ length: 150 }, (_, i) => `b${i}`));
    expect(
      (selectBranches(undefined, many) as { items: unknown[] }).items,
    ).toHaveLength(100);
    expect(branchesComplete({ limit: 3 }, 3)).toBe(true);
    expect(branchesComplete({ limit: 3 }, 2)).toBe(false);
  });

  it('keeps pull requests whose head branch passes and that carry every wanted label', () => {
    const pr = (
      number: number,
      branch: string,
      labels: string[],
    ): PullRequestItem => ({
      number,
      sha: `s${number}`,
      branch,
      author: 'alice',
      title: `PR ${number}`,
      labels,
    });
    const prs = [
      pr(1, 'feat-a', ['preview', 'ok']),
      pr(2, 'feat-b', ['preview']),
      pr(3, 'fix-c', ['preview', 'ok']),
      pr(4, 'feat-d', []),
    ];
    const kept = selectPullRequests(
      { includeBranch: '^feat-', labels: ['preview', 'ok'] },
      prs,
    );
    expect(kept.ok && kept.items.map(p => p.number)).toEqual([1]);
    const limited = selectPullRequests({ limit: 2 }, prs);
    expect(limited.ok && limited.items.map(p => p.number)).toEqual([1, 2]);
  });

  it('reports a bad regex or semver range by the field that holds it', () => {
    expect(filterProblem({ includeBranch: '(' })).toMatch(
      /^invalid includeBranch regex: /,
    );
    expect(filterProblem({ semver: 'not a range' })).toMatch(
      /^invalid semver expression: /,
    );
    expect(
      filterProblem({ includeTag: '^v', semver: '>=1.0.0' }),
    ).toBeUndefined();
    expect(selectPullRequests({ excludeBranch: '[' }, [])).toEqual({
      ok: false,
      message: expect.stringMatching(/^invalid excludeBranch regex: /),
    });
  });
});

describe('Git-forge inputs', () => {
  it('exports the keys and ids of each kind of item', () => {
    expect(branchInput({ name: 'main', sha: 'abc' })).toEqual({
      id: '68878758',
      sha: 'abc',
      branch: 'main',
    });
    expect(tagInput({ name: '6.0.4', sha: 'def', slug: '6-0-4' })).toEqual({
      id: '48955639',
      sha: 'def',
      tag: '6.0.4',
      slug: '6-0-4',
    });
    expect(
      pullRequestInput({
        number: 42,
        sha: 's',
        branch: 'feat',
        author: 'alice',
        title: 'Add',
        labels: [],
      }),
    ).toEqual({
      id: '42',
      sha: 's',
      branch: 'feat',
      author: 'alice',
      title: 'Add',
    });
    expect(
      pullRequestInput({
        number: 7,
        sha: 's',
        branch: 'b',
        author: '',
        title: 'T',
        labels: ['preview'],
      }),
    ).toEqual({
      id: '7',
      sha: 's',
      branch: 'b',
      title: 'T',
      labels: ['preview'],
    });
  });

  it("makes GitLab's slugs", () => {
    expect(gitlabSlug('Feature/Add_Thing')).toBe('feature-add-thing');
    expect(gitlabSlug('-v6.0.4-')).toBe('v6-0-4');
    expect(gitlabSlug(`${'a'.repeat(62)}.b`)).toBe('a'.repeat(62));
  });
});

describe('paging', () => {
  const client = (total: number, asked: number[]): SourceHttp => ({
    async getJson(url: string) {
      const page = Number(new URL(url).searchParams.get('page'));
      asked.push(page);
      const start = (page - 1) * 100;
      return {
        status: 200,
        headers: {},
        body: Array.from(
          { length: Math.max(0, Math.min(100, total - start)) },
          (_, i) => start + i,
        ),
      } as any;
    },
    postJson: async () => {
      throw new Error('not used');
    },
  });

  it('reads pages until a short one, or until the caller has enough', async () => {
    const asked: number[] = [];
    const all = await pagedJson<number>(
      client(250, asked),
      page => `https://forge.test/items?page=${page}`,
    );
    expect(all).toHaveLength(250);
    expect(asked).toEqual([1, 2, 3]);
    asked.length = 0;
    await pagedJson<number>(
      client(1000, asked),
      page => `https://forge.test/items?page=${page}`,
      { done: items => items.length >= 150 },
    );
    expect(asked).toEqual([1, 2]);
    asked.length = 0;
    expect(
      await pagedJson<number>(
        client(200, asked),
        page => `https://forge.test/items?page=${page}`,
      ),
    ).toHaveLength(200);
    expect(asked).toEqual([1, 2, 3]);
  });

  it('refuses an answer that is not a list', async () => {
    const odd: SourceHttp = {
      getJson: async () =>
        ({ status: 200, headers: {}, body: { message: 'no' } } as any),
      postJson: async () => {
        throw new Error('not used');
      },
    };
    await expect(
      pagedJson(odd, page => `https://forge.test/items?page=${page}&x=1`),
    ).rejects.toThrow('https://forge.test/items: the answer is not a list');
  });
});
