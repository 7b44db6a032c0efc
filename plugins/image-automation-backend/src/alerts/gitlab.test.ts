import { createHash } from 'node:crypto';
import { FluxEvent } from './fluxEvent';
import {
  commitStatusDescription,
  commitStatusName,
  eventRevision,
  gitlabDestination,
  gitlabPathEscape,
  HttpSend,
  isDuplicateStatus,
  parseGitLabAddress,
  parseRevision,
  planCommitStatus,
  providerUidSegment,
  setCommitStatus,
  splitCamelcase,
} from './gitlab';

// notification-controller v1.5.0's GitLab notifier (internal/notifier/gitlab.go, util.go and
// their tests), fluxcd/pkg/git v0.24.0's revision helpers and go-gitlab's request encoding.

const SHA = 'a1afe267b54f38b46b487f6e938a6fd508278c07';
const PROVIDER = 'Provider/apps/gitlab';

const event = (overrides: Partial<FluxEvent> = {}): FluxEvent => ({
  involvedObject: {
    kind: 'ImageUpdateAutomation',
    namespace: 'apps',
    name: 'Podinfo',
    apiVersion: 'image.toolkit.fluxcd.io/v1',
  },
  severity: 'info',
  timestamp: '2026-12-03T20:00:00Z',
  message: 'pushed commit',
  reason: 'Succeeded',
  metadata: { revision: `main@sha1:${SHA}` },
  reportingController: 'image-automation-controller',
  ...overrides,
});

describe('parseRevision (Flux’s parseRevision over fluxcd/pkg/git)', () => {
  it.each([
    ['commit', `sha1:${SHA}`],
    ['branch', `master@sha1:${SHA}`],
    ['nested branch', `environment/dev@sha1:${SHA}`],
    ['legacy', `master/${SHA}`],
    ['legacy (nested branch)', `environment/dev/${SHA}`],
    ['legacy HEAD', `HEAD/${SHA}`],
    ['bare hash', SHA],
  ])('%s: %s', (_, revision) => {
    expect(parseRevision(revision)).toBe(SHA);
  });

  it.each([
    ['legacy (one component)', 'master'],
    ['empty', ''],
    ['a short hash', 'main@sha1:a1afe26'],
    ['a SHA-256 commit', `main@sha256:${'a'.repeat(64)}`],
    ['a tag without a hash', 'v1.2.3@'],
  ])('%s is refused with Flux’s message', (_, revision) => {
    expect(() => parseRevision(revision)).toThrow(
      `failed to extract commit hash from '${revision}' revision`,
    );
  });
});

describe('eventRevision (Flux’s GetRevision)', () => {
  it('reads commit, then originRevision, then revision', () => {
    expect(
      eventRevision(
        event({
          metadata: { revision: 'r', originRevision: 'o', commit: 'c' },
        }),
      ),
    ).toBe('c');
    expect(
      eventRevision(
        event({ metadata: { revision: 'r', originRevision: 'o' } }),
      ),
    ).toBe('o');
    expect(eventRevision(event({ metadata: { revision: 'r' } }))).toBe('r');
    expect(
      eventRevision(event({ metadata: { cluster: 'prod' } })),
    ).toBeUndefined();
    expect(eventRevision(event({ metadata: undefined }))).toBeUndefined();
  });
});

describe('splitCamelcase and the commit status description', () => {
  it.each([
    ['', []],
    ['lowercase', ['lowercase']],
    ['Class', ['Class']],
    ['MyClass', ['My', 'Class']],
    ['MyC', ['My', 'C']],
    ['HTML', ['HTML']],
    ['PDFLoader', ['PDF', 'Loader']],
    ['AString', ['A', 'String']],
    ['SimpleXMLParser', ['Simple', 'XML', 'Parser']],
    ['vimRPCPlugin', ['vim', 'RPC', 'Plugin']],
    ['GL11Version', ['GL', '11', 'Version']],
    ['99Bottles', ['99', 'Bottles']],
    ['May5', ['May', '5']],
    ['BFG9000', ['BFG', '9000']],
    ['BöseÜberraschung', ['Böse', 'Überraschung']],
    ['Two  spaces', ['Two', '  ', 'spaces']],
  ])('%j → %j', (src, expected) => {
    expect(splitCamelcase(src)).toEqual(expected);
  });

  it('does not split a string that is not valid Unicode', () => {
    expect(splitCamelcase('BadUTF\uD800Here')).toEqual(['BadUTF\uD800Here']);
  });

  it('describes the reason split and lower-cased (Flux’s TestUtil_NameAndDescription)', () => {
    expect(commitStatusDescription(event({ reason: 'ApplySucceeded' }))).toBe(
      'apply succeeded',
    );
    expect(
      commitStatusDescription(event({ reason: 'GitOperationFailed' })),
    ).toBe('git operation failed');
    expect(commitStatusDescription(event({ reason: 'Succeeded' }))).toBe(
      'succeeded',
    );
  });
});

describe('the commit status name', () => {
  it('is <kind>/<name>/<8 hex of the Provider>, lower-cased, stable and different per Provider', () => {
    const segment = createHash('sha256')
      .update(PROVIDER)
      .digest('hex')
      .slice(0, 8);
    expect(providerUidSegment(PROVIDER)).toBe(segment);
    expect(segment).toMatch(/^[0-9a-f]{8}$/);
    expect(commitStatusName(event(), PROVIDER)).toBe(
      `imageupdateautomation/podinfo/${segment}`,
    );
    expect(commitStatusName(event(), PROVIDER)).toBe(
      commitStatusName(event(), PROVIDER),
    );
    expect(commitStatusName(event(), 'Provider/apps/other')).not.toBe(
      commitStatusName(event(), PROVIDER),
    );
  });
});

describe('planCommitStatus', () => {
  it('success for info, failed for error, from the revision metadata', () => {
    expect(planCommitStatus(event(), PROVIDER)).toEqual({
      sha: SHA,
      state: 'success',
      name: commitStatusName(event(), PROVIDER),
      description: 'succeeded',
    });
    expect(
      planCommitStatus(
        event({ severity: 'error', reason: 'GitOperationFailed' }),
        PROVIDER,
      ),
    ).toMatchObject({
      state: 'failed',
      description: 'git operation failed',
    });
  });

  it('skips Progressing events; refuses an event without revision metadata with Flux’s words', () => {
    expect(
      planCommitStatus(event({ reason: 'Progressing' }), PROVIDER),
    ).toBeUndefined();
    expect(() =>
      planCommitStatus(event({ metadata: { cluster: 'prod' } }), PROVIDER),
    ).toThrow(/^missing revision metadata$/);
    expect(() =>
      planCommitStatus(event({ metadata: { revision: 'main' } }), PROVIDER),
    ).toThrow("failed to extract commit hash from 'main' revision");
  });
});

describe('isDuplicateStatus (Flux’s duplicateGitlabStatus)', () => {
  const planned = {
    sha: SHA,
    state: 'success' as const,
    name: 'imageupdateautomation/podinfo/0123abcd',
    description: 'succeeded',
  };
  const listed = {
    sha: SHA,
    status: 'success',
    name: planned.name,
    description: 'succeeded',
  };
  it('only when sha, state, description and name all match', () => {
    expect(isDuplicateStatus([listed], planned)).toBe(true);
    expect(isDuplicateStatus([], planned)).toBe(false);
    expect(
      isDuplicateStatus([{ ...listed, sha: 'b'.repeat(40) }], planned),
    ).toBe(false);
    expect(isDuplicateStatus([{ ...listed, status: 'failed' }], planned)).toBe(
      false,
    );
    expect(
      isDuplicateStatus(
        [{ ...listed, description: 'apply succeeded' }],
        planned,
      ),
    ).toBe(false);
    expect(isDuplicateStatus([{ ...listed, name: 'other' }], planned)).toBe(
      false,
    );
    expect(
      isDuplicateStatus([{ ...listed, status: 'failed' }, listed], planned),
    ).toBe(true);
  });
});

describe('the project address (Flux’s parseGitAddress) and the API URL', () => {
  it.each([
    ['https://gitlab.com/foo/bar', 'https://gitlab.com', 'foo/bar'],
    ['https://gitlab.com/foo/bar.git', 'https://gitlab.com', 'foo/bar'],
    [
      'https://gitlab.example.com/group/sub/project',
      'https://gitlab.example.com',
      'group/sub/project',
    ],
    [
      'http://127.0.0.1:8929/group/project',
      'http://127.0.0.1:8929',
      'group/project',
    ],
    [
      'ssh://git@gitlab.example.com/group/project.git',
      'https://gitlab.example.com',
      'group/project',
    ],
    [
      'git@gitlab.example.com:group/project.git',
      'https://gitlab.example.com',
      'group/project',
    ],
  ])('%s → %s + %s', (address, origin, project) => {
    expect(parseGitLabAddress(address)).toEqual({ origin, project });
  });

  it('escapes the project path as go-gitlab does: one segment, dots escaped', () => {
    expect(gitlabPathEscape('group/sub/my.project')).toBe(
      'group%2Fsub%2Fmy%2Eproject',
    );
    expect(gitlabPathEscape('a b;c,d?e#f')).toBe('a%20b%3Bc%2Cd%3Fe%23f');
    expect(gitlabPathEscape('keep-_~$&+:=@')).toBe('keep-_~$&+:=@');
    expect(
      gitlabDestination('https://gitlab.example.com/group/sub/my.project.git'),
    ).toBe(
      'https://gitlab.example.com/api/v4/projects/group%2Fsub%2Fmy%2Eproject',
    );
    // A project path with dot segments stays one escaped segment below /projects/.
    expect(
      new URL(gitlabDestination('https://gitlab.example.com/group/..x'))
        .pathname,
    ).toBe('/api/v4/projects/group%2F%2E%2Ex');
  });

  it('refuses an address without a project, with a user or password, or of another scheme', () => {
    expect(() => gitlabDestination('https://gitlab.example.com/')).toThrow(
      /^invalid project path ''/,
    );
    expect(() =>
      gitlabDestination('https://gitlab.example.com/group//project'),
    ).toThrow(/^invalid project path/);
    expect(() =>
      gitlabDestination('https://gitlab.example.com/group/../..'),
    ).toThrow(/^invalid project path/);
    expect(() =>
      gitlabDestination('https://user:pass@gitlab.example.com/group/project'),
    ).toThrow(/user name or password/);
    expect(() =>
      gitlabDestination('ftp://gitlab.example.com/group/project'),
    ).toThrow(/must be https/);
    expect(() => gitlabDestination('not a url')).toThrow(/^failed parsing URL/);
  });
});

describe('setCommitStatus (requests as go-gitlab sends them; a recording fake transport)', () => {
  const base = new URL(
    'https://gitlab.example.com/api/v4/projects/group%2Fproject',
  );
  type Call = Parameters<HttpSend>[0];
  const fake = (
    answers: Array<
      { status: number; body: string } | { error: string; retryable: boolean }
    >,
  ) => {
    const calls: Call[] = [];
    const send: HttpSend = async request => {
      calls.push(request);
      return answers.shift() ?? { status: 500, body: '' };
    };
    return { calls, send };
  };

  it('words failures as Flux and go-gitlab do', async () => {
    const unauthorized = fake([
      { status: 401, body: '{"message":"401 Unauthorized"}' },
    ]);
    expect(
      await setCommitStatus(base, 't', event(), PROVIDER, unauthorized.send),
    ).toEqual({
      result: 'failed',
      failure: `unable to list commit status: GET https://gitlab.example.com/api/v4/projects/group/project/repository/commits/${SHA}/statuses: 401 {message: 401 Unauthorized}`,
      retryable: false,
    });
    const missing = fake([
      { status: 404, body: '{"message":"404 Project Not Found"}' },
    ]);
    expect(
      await setCommitStatus(base, 't', event(), PROVIDER, missing.send),
    ).toMatchObject({
      failure: 'unable to list commit status: 404 Not Found',
      retryable: false,
    });
    const down = fake([{ status: 503, body: 'upstream down' }]);
    expect(
      await setCommitStatus(base, 't', event(), PROVIDER, down.send),
    ).toMatchObject({
      failure: expect.stringMatching(
        /: 503 failed to parse unknown error format: upstream down$/,
      ),
      retryable: true,
    });
    const refused = fake([
      { status: 200, body: '[]' },
      {
        status: 400,
        body: '{"message":{"state":["is invalid"],"name":["too long"]}}',
      },
    ]);
    expect(
      await setCommitStatus(base, 't', event(), PROVIDER, refused.send),
    ).toEqual({
      result: 'failed',
      failure: `POST https://gitlab.example.com/api/v4/projects/group/project/statuses/${SHA}: 400 {message: {name: [too long]}, {state: [is invalid]}}`,
      retryable: false,
    });
    const network = fake([
      { error: 'connect ECONNREFUSED 127.0.0.1:1', retryable: true },
    ]);
    expect(
      await setCommitStatus(base, 't', event(), PROVIDER, network.send),
    ).toMatchObject({
      failure: 'unable to list commit status: connect ECONNREFUSED 127.0.0.1:1',
      retryable: true,
    });
    const garbage = fake([{ status: 200, body: '{"not":"a list"}' }]);
    expect(
      await setCommitStatus(base, 't', event(), PROVIDER, garbage.send),
    ).toMatchObject({
      failure: expect.stringMatching(/^unable to list commit status: /),
    });
    expect(garbage.calls).toHaveLength(1);
  });

  it('sends nothing for a Progressing event or one without a revision', async () => {
    const none = fake([]);
    expect(
      await setCommitStatus(
        base,
        't',
        event({ reason: 'Progressing' }),
        PROVIDER,
        none.send,
      ),
    ).toMatchObject({ result: 'skipped' });
    expect(
      await setCommitStatus(
        base,
        't',
        event({ metadata: undefined }),
        PROVIDER,
        none.send,
      ),
    ).toEqual({
      result: 'failed',
      failure: 'missing revision metadata',
      retryable: false,
    });
    expect(none.calls).toHaveLength(0);
  });
});
