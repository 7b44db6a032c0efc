import http from 'node:http';
import os from 'node:os';
import { gitEnvironment, runGit } from './runGit';

describe('runGit hygiene (#13)', () => {
  it('builds the environment from nothing: no inherited GIT_* variable, an empty HOME, no system or global config', () => {
    const saved = { ...process.env };
    process.env.GIT_SSH_COMMAND = 'touch /tmp/pwned';
    process.env.GIT_CONFIG_PARAMETERS = "'core.sshCommand'='touch /tmp/pwned'";
    process.env.GIT_EXEC_PATH = '/tmp/evil';
    try {
      const env = gitEnvironment(
        { 'user.name': 'x' },
        { GIT_AUTHOR_NAME: 'Bot' },
      );
      expect(
        Object.keys(env)
          .filter(
            k =>
              k.startsWith('GIT_') && !/^GIT_CONFIG_(KEY|VALUE)_\d+$/.test(k),
          )
          .sort(),
      ).toEqual([
        'GIT_ASKPASS',
        'GIT_AUTHOR_NAME',
        'GIT_CONFIG_COUNT',
        'GIT_CONFIG_GLOBAL',
        'GIT_CONFIG_NOSYSTEM',
        'GIT_TERMINAL_PROMPT',
      ]);
      expect(env.GIT_CONFIG_GLOBAL).toBe('/dev/null');
      expect(env.GIT_CONFIG_NOSYSTEM).toBe('1');
      expect(env.HOME).not.toBe(os.homedir());
      expect(env.PATH).toBe(process.env.PATH);
      const config = Object.fromEntries(
        Array.from({ length: Number(env.GIT_CONFIG_COUNT) }, (_, i) => [
          env[`GIT_CONFIG_KEY_${i}`],
          env[`GIT_CONFIG_VALUE_${i}`],
        ]),
      );
      expect(config).toMatchObject({
        'protocol.allow': 'never',
        'http.followRedirects': 'false',
        'user.name': 'x',
      });
    } finally {
      for (const key of [
        'GIT_SSH_COMMAND',
        'GIT_CONFIG_PARAMETERS',
        'GIT_EXEC_PATH',
      ]) {
        if (saved[key] === undefined) delete process.env[key];
      }
    }
  });

  it('follows no redirect, so the Authorization header never reaches another host', async () => {
    const seen: string[] = [];
    const other = http.createServer((req, res) => {
      seen.push(`${req.url} ${req.headers.authorization ?? ''}`);
      res.writeHead(404);
      res.end();
    });
    await new Promise<void>(r => other.listen(0, '127.0.0.1', r));
    const otherPort = (other.address() as { port: number }).port;
    const redirecting = http.createServer((req, res) => {
      res.writeHead(302, {
        location: `http://localhost:${otherPort}${req.url}`,
      });
      res.end();
    });
    await new Promise<void>(r => redirecting.listen(0, '127.0.0.1', r));
    try {
      const port = (redirecting.address() as { port: number }).port;
      await expect(
        runGit(['ls-remote', '--', `http://127.0.0.1:${port}/repo.git`], {
          auth: { type: 'basic', username: 'u', password: 'redirected-secret' },
          timeoutMs: 10_000,
        }),
      ).rejects.toThrow();
      expect(seen).toEqual([]);
    } finally {
      await new Promise(r => other.close(r));
      await new Promise(r => redirecting.close(r));
    }
  });

  it('refuses transports other than HTTP(S)', async () => {
    await expect(
      runGit(['ls-remote', '--', `file://${os.tmpdir()}`], {
        timeoutMs: 10_000,
      }),
    ).rejects.toThrow(/transport 'file' not allowed/);
    await expect(
      runGit(['ls-remote', '--', 'ext::sh -c touch% /tmp/pwned'], {
        timeoutMs: 10_000,
      }),
    ).rejects.toThrow(/transport 'ext' not allowed/);
  });
});
