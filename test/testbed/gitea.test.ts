import fs from 'node:fs';
import net from 'node:net';
import { startGitea } from '.';

jest.setTimeout(180_000);

const listening = (port: number) =>
  new Promise<boolean>(resolve => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

describe('startGitea', () => {
  it('serves the API on 127.0.0.1 with users, repositories, branches, tags, pull requests and labels, and stops cleanly', async () => {
    const gitea = await startGitea();
    const port = Number(gitea.host.split(':')[1]);
    let workPath = '';
    try {
      expect(gitea.url).toBe(`http://127.0.0.1:${port}`);
      expect(gitea.version).toBe('1.26.0');
      workPath = gitea.dataDir;
      expect(fs.readFileSync(`${workPath}/app.ini`, 'utf8')).toContain(
        'HTTP_ADDR = 127.0.0.1',
      );
      // The admin's token works; a wrong one is Gitea's 401.
      expect((await gitea.api('GET', '/user')).login).toBe(
        gitea.admin.username,
      );
      expect(
        (
          await gitea.rawApi('GET', '/user', undefined, {
            token: 'not-a-token',
          })
        ).status,
      ).toBe(401);

      const bob = await gitea.createUser('bob');
      const repo = await gitea.createRepository('demo', {
        private: true,
        as: bob,
      });
      expect(repo).toMatchObject({
        owner: 'bob',
        name: 'demo',
        url: `${gitea.url}/bob/demo`,
        defaultBranch: 'main',
      });
      // Private: anonymous requests do not see it.
      expect(
        (
          await gitea.rawApi('GET', '/repos/bob/demo', undefined, {
            token: null,
          })
        ).status,
      ).toBe(404);

      const head = await gitea.createBranch(repo, 'feature/x');
      expect(head).toMatch(/^[0-9a-f]{40}$/);
      const pushed = await gitea.pushBranches(repo, ['bulk-1', 'bulk-2']);
      expect(Object.keys(pushed).sort()).toEqual(['bulk-1', 'bulk-2']);
      expect(pushed['bulk-1']).not.toBe(pushed['bulk-2']);
      await gitea.pushTags(repo, ['0.1.0', '0.2.0']);
      const tagged = await gitea.createTag(repo, 'v1.0.0', {
        target: 'feature/x',
        message: 'annotated',
      });
      expect(tagged).toBe(head);
      const tags = await gitea.api<Array<{ name: string }>>(
        'GET',
        '/repos/bob/demo/tags',
      );
      expect(tags.map(t => t.name).sort()).toEqual([
        '0.1.0',
        '0.2.0',
        'v1.0.0',
      ]);

      const pr = await gitea.createPullRequest(repo, {
        head: 'feature/x',
        title: 'X',
        labels: ['preview'],
      });
      expect(pr).toMatchObject({ title: 'X', head: 'feature/x', sha: head });
      await gitea.addLabels(repo, pr.number, ['hold']);
      await gitea.removeLabel(repo, pr.number, 'preview');
      const open = await gitea.api<
        Array<{ number: number; labels: Array<{ name: string }> }>
      >('GET', '/repos/bob/demo/pulls?state=open');
      expect(open.map(p => [p.number, p.labels.map(l => l.name)])).toEqual([
        [pr.number, ['hold']],
      ]);
      await gitea.closePullRequest(repo, pr.number);
      expect(
        await gitea.api('GET', '/repos/bob/demo/pulls?state=open'),
      ).toEqual([]);
    } finally {
      await gitea.stop();
    }
    expect(await listening(port)).toBe(false);
    expect(fs.existsSync(workPath)).toBe(false);
  });
});
