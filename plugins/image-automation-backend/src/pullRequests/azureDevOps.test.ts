import http from 'node:http';
import { AddressInfo } from 'node:net';
import { ConfigReader } from '@backstage/config';
import {
  azureDevOpsRepository,
  AzureDevOpsPullRequestHost,
} from './azureDevOps';
import { PullRequestApiError } from './PullRequestHost';
import {
  pullRequestHostFor,
  PullRequestHostNotAllowedError,
  readPullRequestSettings,
} from './pullRequestMode';

const PAT = 'azdo-pat-sekret';

/**
 * Azure DevOps cannot run here: a local **stand-in** serves the parts of the recorded Git REST API
 * 7.1 contract the adapter uses (pull requests searched by source and target ref, create with
 * labels, update, auto-complete, threads, abandon, reviewers' votes, pull request statuses), under
 * `/{org}/{project}/_apis/git/repositories/{repo}`, in memory, and records every request. As Azure
 * DevOps does, it answers 400 without `api-version`, and 203 with its HTML sign-in page when the
 * PAT is not accepted.
 */
async function azureDevOpsStandIn() {
  interface Pr {
    pullRequestId: number;
    status: 'active' | 'abandoned' | 'completed';
    title: string;
    description: string;
    sourceRefName: string;
    targetRefName: string;
    labels: string[];
    autoCompleteSetBy?: { id: string };
    threads: Array<{ content: string; status: string }>;
    head: string;
    mergeCommit?: string;
    reviewers: Array<{
      uniqueName: string;
      displayName: string;
      vote: number;
      isContainer?: boolean;
    }>;
    statuses: Array<{
      id: number;
      state: string;
      context: { genre: string; name: string };
    }>;
  }
  const pulls: Pr[] = [];
  const requests: Array<{
    method: string;
    path: string;
    query: Record<string, string>;
    authorization?: string;
    body?: any;
  }> = [];
  const refuse: { autoComplete?: { status: number; body: unknown } } = {};
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = chunks.length
      ? JSON.parse(Buffer.concat(chunks).toString())
      : undefined;
    const url = new URL(req.url!, `http://${req.headers.host}`);
    requests.push({
      method: req.method!,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      authorization: req.headers.authorization,
      body,
    });
    const send = (status: number, payload?: unknown) => {
      res.writeHead(status, {
        'content-type': 'application/json; charset=utf-8',
      });
      res.end(payload === undefined ? '' : JSON.stringify(payload));
    };
    if (
      req.headers.authorization !==
      `Basic ${Buffer.from(`bot:${PAT}`).toString('base64')}`
    ) {
      res.writeHead(203, { 'content-type': 'text/html; charset=utf-8' });
      return res.end(
        '<html><head><title>Azure DevOps Services | Sign In</title></head></html>',
      );
    }
    if (url.searchParams.get('api-version') !== '7.1') {
      return send(400, {
        message:
          'No api-version was supplied for the "GET" request. The version must be supplied either as part of the Accept header or as a query parameter',
        typeKey: 'VssVersionNotSpecifiedException',
      });
    }
    const prefix = '/acme/shop/_apis/git/repositories/app';
    if (!url.pathname.startsWith(prefix))
      return send(404, {
        message:
          'TF401019: The Git repository with name or identifier does not exist',
      });
    const path = url.pathname.slice(prefix.length).toLowerCase();
    const view = (pr: Pr) => ({
      pullRequestId: pr.pullRequestId,
      status: pr.status,
      title: pr.title,
      description: pr.description,
      sourceRefName: pr.sourceRefName,
      targetRefName: pr.targetRefName,
      createdBy: {
        id: 'c0ffee00-0000-0000-0000-000000000001',
        displayName: 'Image Bot',
      },
      lastMergeSourceCommit: { commitId: pr.head },
      ...(pr.mergeCommit
        ? { lastMergeCommit: { commitId: pr.mergeCommit } }
        : {}),
      reviewers: pr.reviewers,
      labels: pr.labels.map(name => ({ name, active: true })),
      ...(pr.autoCompleteSetBy
        ? { autoCompleteSetBy: pr.autoCompleteSetBy }
        : {}),
      url: `http://${req.headers.host}${prefix}/pullRequests/${pr.pullRequestId}`,
    });
    let n: RegExpMatchArray | null;
    const find = (id: string) =>
      pulls.find(p => p.pullRequestId === Number(id));
    if (path === '/pullrequests' && req.method === 'GET') {
      const status = url.searchParams.get('searchCriteria.status');
      const matching = pulls.filter(
        p =>
          (!status || p.status === status) &&
          p.sourceRefName ===
            url.searchParams.get('searchCriteria.sourceRefName') &&
          p.targetRefName ===
            url.searchParams.get('searchCriteria.targetRefName'),
      );
      return send(200, {
        count: matching.length,
        value: matching
          .slice(0, Number(url.searchParams.get('$top') ?? 101))
          .map(view),
      });
    }
    if (path === '/pullrequests' && req.method === 'POST') {
      if (String(body.description ?? '').length > 4000)
        return send(400, { message: 'The description is too long' });
      if (
        pulls.some(
          p =>
            p.status === 'active' &&
            p.sourceRefName === body.sourceRefName &&
            p.targetRefName === body.targetRefName,
        )
      ) {
        return send(409, {
          message:
            'TF401179: An active pull request for the source and target branch already exists.',
        });
      }
      const pr: Pr = {
        pullRequestId: 100 + pulls.length + 1,
        status: 'active',
        title: body.title,
        description: body.description,
        sourceRefName: body.sourceRefName,
        targetRefName: body.targetRefName,
        labels: (body.labels ?? []).map((l: { name: string }) => l.name),
        threads: [],
        head: 'a'.repeat(40),
        reviewers: [],
        statuses: [],
      };
      pulls.push(pr);
      return send(201, view(pr));
    }
    n = path.match(/^\/pullrequests\/(\d+)$/);
    if (n) {
      const pr = find(n[1]);
      if (!pr)
        return send(404, {
          message: 'TF401180: The requested pull request was not found.',
        });
      if (req.method === 'PATCH') {
        if (body.autoCompleteSetBy && refuse.autoComplete)
          return send(refuse.autoComplete.status, refuse.autoComplete.body);
        if (body.title !== undefined) pr.title = body.title;
        if (body.description !== undefined) pr.description = body.description;
        if (body.status) pr.status = body.status;
        if (body.autoCompleteSetBy)
          pr.autoCompleteSetBy = body.autoCompleteSetBy;
      }
      return send(200, view(pr));
    }
    n = path.match(/^\/pullrequests\/(\d+)\/threads$/);
    if (n && req.method === 'POST') {
      find(n[1])!.threads.push({
        content: body.comments[0].content,
        status: body.status,
      });
      return send(200, { id: 1 });
    }
    n = path.match(/^\/pullrequests\/(\d+)\/statuses$/);
    if (n)
      return send(200, {
        count: find(n[1])!.statuses.length,
        value: find(n[1])!.statuses,
      });
    return send(404, { message: 'not found' });
  });
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    host: `127.0.0.1:${port}`,
    repositoryUrl: `http://127.0.0.1:${port}/acme/shop/_git/app`,
    pulls,
    requests,
    refuse,
    close: () => new Promise(resolve => server.close(resolve)),
  };
}

const pat = { type: 'basic' as const, username: 'bot', password: PAT };

describe('AzureDevOpsPullRequestHost against an Azure DevOps stand-in', () => {
  it('finds, opens with labels and auto-complete, updates, reads votes and statuses, comments and abandons, and reads a completed merge', async () => {
    const az = await azureDevOpsStandIn();
    try {
      const repository = azureDevOpsRepository(new URL(az.repositoryUrl))!;
      const host = new AzureDevOpsPullRequestHost({ ...repository, auth: pat });
      expect(
        await host.findOpen('image-automation/apps/web', 'main'),
      ).toBeUndefined();
      expect(az.requests[0].query).toEqual({
        'searchCriteria.status': 'active',
        'searchCriteria.sourceRefName': 'refs/heads/image-automation/apps/web',
        'searchCriteria.targetRefName': 'refs/heads/main',
        $top: '1',
        'api-version': '7.1',
      });
      const long = 'x'.repeat(5000);
      const opened = await host.open({
        head: 'image-automation/apps/web',
        base: 'main',
        title: 'Update web',
        body: long,
        labels: ['deps'],
        autoMerge: true,
      });
      expect(opened).toEqual({
        number: 101,
        url: `http://${az.host}/acme/shop/_git/app/pullrequest/101`,
        autoMerge: true,
      });
      expect(az.requests[1]).toMatchObject({
        method: 'POST',
        path: '/acme/shop/_apis/git/repositories/app/pullrequests',
        body: {
          sourceRefName: 'refs/heads/image-automation/apps/web',
          targetRefName: 'refs/heads/main',
          title: 'Update web',
          labels: [{ name: 'deps' }],
        },
      });
      // Azure DevOps refuses descriptions over 4,000 characters: cut.
      expect(az.pulls[0].description.length).toBe(4000);
      expect(az.pulls[0].description.endsWith('x…')).toBe(true);
      expect(az.requests[2]).toMatchObject({
        method: 'PATCH',
        body: {
          autoCompleteSetBy: { id: 'c0ffee00-0000-0000-0000-000000000001' },
        },
      });
      expect(await host.findOpen('image-automation/apps/web', 'main')).toEqual({
        number: 101,
        url: opened.url,
      });

      await host.update(101, { title: 'Update web to 2', body: 'changed' });
      expect(az.pulls[0]).toMatchObject({
        title: 'Update web to 2',
        description: 'changed',
      });

      az.pulls[0].reviewers = [
        { uniqueName: 'ann@acme.example', displayName: 'Ann', vote: 10 },
        { uniqueName: 'bob@acme.example', displayName: 'Bob', vote: 5 },
        { uniqueName: 'cy@acme.example', displayName: 'Cy', vote: -10 },
        { uniqueName: 'dee@acme.example', displayName: 'Dee', vote: 0 },
        {
          uniqueName: 'vstfs:///Classification/TeamProject/team',
          displayName: 'Team',
          vote: 10,
          isContainer: true,
        },
      ];
      az.pulls[0].statuses = [
        { id: 1, state: 'failed', context: { genre: 'ci', name: 'build' } },
        { id: 2, state: 'succeeded', context: { genre: 'ci', name: 'build' } },
        { id: 3, state: 'pending', context: { genre: 'ci', name: 'scan' } },
      ];
      const state = await host.get(101);
      expect(state).toEqual({
        number: 101,
        url: opened.url,
        state: 'open',
        headSha: 'a'.repeat(40),
      });
      const before = az.requests.length;
      expect(await host.reviews(101, state.headSha)).toEqual({
        approvedBy: ['ann@acme.example', 'bob@acme.example'],
        changesRequestedBy: ['cy@acme.example'],
        checks: 'pending',
      });
      // The votes come with the pull request just read: only the statuses are asked for.
      expect(az.requests.length - before).toBe(1);
      az.pulls[0].statuses.push({
        id: 4,
        state: 'succeeded',
        context: { genre: 'ci', name: 'scan' },
      });
      expect((await host.reviews(101, state.headSha)).checks).toBe('success');

      await host.closeWithComment(101, 'main already carries 2');
      expect(az.pulls[0]).toMatchObject({
        status: 'abandoned',
        threads: [{ content: 'main already carries 2', status: 'closed' }],
      });
      expect(await host.get(101)).toMatchObject({ state: 'closed' });
      az.pulls[0].status = 'completed';
      az.pulls[0].mergeCommit = 'b'.repeat(40);
      expect(await host.get(101)).toMatchObject({
        state: 'merged',
        mergeCommit: 'b'.repeat(40),
      });

      expect(az.requests.every(r => r.query['api-version'] === '7.1')).toBe(
        true,
      );
      expect(new Set(az.requests.map(r => r.authorization))).toEqual(
        new Set([`Basic ${Buffer.from(`bot:${PAT}`).toString('base64')}`]),
      );
    } finally {
      await az.close();
    }
  });

  it('names the cause of a refused PAT (203 sign-in page), refuses reviewers by name before opening, and opens without auto-complete where refused', async () => {
    const az = await azureDevOpsStandIn();
    try {
      const repository = azureDevOpsRepository(new URL(az.repositoryUrl))!;
      const wrong = new AzureDevOpsPullRequestHost({
        ...repository,
        auth: { ...pat, password: 'expired' },
      });
      const error = await wrong.findOpen('b', 'main').catch(e => e);
      expect(error).toBeInstanceOf(PullRequestApiError);
      expect(error.message).toBe(
        `${az.host}: finding the pull request from 'b' failed with HTTP 203: the answer is not JSON: a sign-in page, the credential was not accepted`,
      );

      const host = new AzureDevOpsPullRequestHost({ ...repository, auth: pat });
      const reviewers = await host
        .open({
          head: 'b',
          base: 'main',
          title: 't',
          body: 'b',
          reviewers: ['ann'],
        })
        .catch(e => e);
      expect(reviewers.message).toMatch(
        /^127\.0\.0\.1:\d+: requesting reviewers failed: reviewers by name are not supported on Azure DevOps/,
      );
      expect(az.pulls).toHaveLength(0);

      az.refuse.autoComplete = {
        status: 400,
        body: {
          message: 'TF401398: The pull request cannot be set to auto-complete.',
        },
      };
      const opened = await host.open({
        head: 'b',
        base: 'main',
        title: 't',
        body: 'b',
        autoMerge: true,
      });
      expect(opened).toMatchObject({
        number: 101,
        autoMerge: false,
        autoMergeRefused: `${az.host}: setting auto-complete on pull request 101 failed with HTTP 400: TF401398: The pull request cannot be set to auto-complete.`,
      });
      expect(az.pulls[0].status).toBe('active');
      expect(
        JSON.stringify([error.message, reviewers.message, opened]),
      ).not.toContain(PAT);
    } finally {
      await az.close();
    }
  });

  it("is reached only on a listed host, at the repository's own collection and project", async () => {
    const settings = (hosts: Array<Record<string, string>>) =>
      readPullRequestSettings(
        new ConfigReader({ imageAutomation: { git: { pullRequests: hosts } } }),
      );
    const found = pullRequestHostFor(
      settings([{ host: 'dev.azure.com', type: 'azure-devops' }]),
      'https://acme@dev.azure.com/acme/shop/_git/app',
      pat,
    );
    expect((found.host as unknown as { api: string }).api).toBe(
      'https://dev.azure.com/acme/shop/_apis/git/repositories/app',
    );
    const server = pullRequestHostFor(
      settings([{ host: 'tfs.acme.example', type: 'azure-devops' }]),
      'https://tfs.acme.example/tfs/DefaultCollection/shop/_git/app',
      pat,
    );
    expect((server.host as unknown as { api: string }).api).toBe(
      'https://tfs.acme.example/tfs/DefaultCollection/shop/_apis/git/repositories/app',
    );
    expect(() =>
      pullRequestHostFor(
        settings([{ host: 'dev.azure.com', type: 'azure-devops' }]),
        'https://dev.azure.com/acme/shop/app.git',
        pat,
      ),
    ).toThrow(
      new PullRequestHostNotAllowedError(
        `'/acme/shop/app.git' is not an Azure DevOps '…/{project}/_git/{repository}' path on 'dev.azure.com'`,
      ),
    );
    expect(() =>
      pullRequestHostFor(
        settings([{ host: 'github.com', type: 'github' }]),
        'https://dev.azure.com/acme/shop/_git/app',
        pat,
      ),
    ).toThrow(
      /host 'dev.azure.com' is not in imageAutomation.git.pullRequests/,
    );
  });
});
