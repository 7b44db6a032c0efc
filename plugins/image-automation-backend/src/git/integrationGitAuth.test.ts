import { ConfigReader } from '@backstage/config';
import { integrationGitAuthFromConfig } from './integrationGitAuth';

describe('integrationGitAuthFromConfig', () => {
  const auth = integrationGitAuthFromConfig(
    new ConfigReader({
      integrations: {
        github: [{ host: 'github.com', token: 'ghp_x' }],
        gitlab: [{ host: 'gitlab.example.com:8443', token: 'glpat' }],
        bitbucketServer: [{ host: 'bb.example.com', token: 'bbt' }],
        gitea: [{ host: '127.0.0.1:3000', username: 'u', password: 'p' }],
        azure: [
          {
            host: 'dev.azure.com',
            credentials: [{ personalAccessToken: 'pat' }],
          },
        ],
      },
    }),
  );

  it('finds the credentials of the URL host', async () => {
    expect(await auth('https://github.com/acme/fleet.git')).toEqual({
      type: 'basic',
      username: 'x-access-token',
      password: 'ghp_x',
    });
    expect(await auth('https://GitLab.example.com:8443/acme/fleet')).toEqual({
      type: 'basic',
      username: 'oauth2',
      password: 'glpat',
    });
    expect(await auth('https://bb.example.com/scm/a/b.git')).toEqual({
      type: 'bearer',
      token: 'bbt',
    });
    expect(await auth('http://127.0.0.1:3000/a/b.git')).toEqual({
      type: 'basic',
      username: 'u',
      password: 'p',
    });
    expect(await auth('https://dev.azure.com/org/p/_git/r')).toEqual({
      type: 'basic',
      username: 'pat',
      password: 'pat',
    });
  });

  it('has nothing for other hosts', async () => {
    expect(await auth('https://gitlab.example.com/acme/fleet')).toBeUndefined();
    expect(await auth('not a url')).toBeUndefined();
  });
});
