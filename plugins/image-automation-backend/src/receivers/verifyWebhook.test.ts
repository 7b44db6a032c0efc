import { createHmac } from 'node:crypto';
import { constantTimeEqual, verifyWebhook, WebhookCall } from './verifyWebhook';

/*
 * Each Receiver type's verification (Flux notification-controller v1.5.0's rules): the right
 * signature or token is accepted, a wrong or missing one is `unauthenticated` (answered as an
 * unknown receiver), an authentic call of an event type the receiver does not list is `invalid`.
 */

const TOKEN = 'receiver-token-1234';
const body = Buffer.from(
  JSON.stringify({ ref: 'refs/heads/main', repository: { name: 'app' } }),
);
const hmac = (algorithm: string, key = TOKEN, payload: Buffer = body) =>
  `${algorithm}=${createHmac(algorithm, key).update(payload).digest('hex')}`;
const call = (
  headers: Record<string, string>,
  payload: Buffer = body,
): WebhookCall => ({
  headers: Object.fromEntries(
    Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]),
  ),
  body: payload,
});

describe('verifyWebhook', () => {
  it('generic accepts any call; a body announced as JSON must parse', () => {
    expect(verifyWebhook('generic', TOKEN, undefined, call({}))).toMatchObject({
      outcome: 'accepted',
      act: true,
    });
    expect(
      verifyWebhook(
        'generic',
        TOKEN,
        undefined,
        call({ 'content-type': 'application/json' }, Buffer.from('{nope')),
      ),
    ).toMatchObject({
      outcome: 'invalid',
      reason: 'InvalidPayload',
    });
  });

  it.each(['sha1', 'sha256', 'sha512'])(
    'generic-hmac accepts X-Signature %s=… of the body and nothing else',
    algorithm => {
      expect(
        verifyWebhook(
          'generic-hmac',
          TOKEN,
          undefined,
          call({ 'X-Signature': hmac(algorithm) }),
        ),
      ).toMatchObject({ outcome: 'accepted' });
      // Another key, another body, a truncated signature, an unknown algorithm, none at all.
      for (const signature of [
        hmac(algorithm, 'other-token'),
        hmac(algorithm, TOKEN, Buffer.from('{}')),
        hmac(algorithm).slice(0, -2),
        hmac(algorithm).replace(algorithm, 'md5'),
        '',
      ]) {
        expect(
          verifyWebhook(
            'generic-hmac',
            TOKEN,
            undefined,
            call({ 'X-Signature': signature }),
          ),
        ).toMatchObject({
          outcome: 'unauthenticated',
        });
      }
    },
  );

  it('github: X-Hub-Signature-256 (or X-Hub-Signature), events from spec.events, ping acknowledged without acting', () => {
    const signed = (event: string, extra: Record<string, string> = {}) =>
      call({
        'X-Hub-Signature-256': hmac('sha256'),
        'X-GitHub-Event': event,
        'Content-Type': 'application/json',
        ...extra,
      });
    expect(
      verifyWebhook('github', TOKEN, ['push', 'package'], signed('push')),
    ).toMatchObject({ outcome: 'accepted', act: true });
    expect(
      verifyWebhook('github', TOKEN, ['push', 'package'], signed('Package')),
    ).toMatchObject({ outcome: 'accepted', act: true });
    expect(
      verifyWebhook(
        'github',
        TOKEN,
        undefined,
        call({ 'X-Hub-Signature': hmac('sha1'), 'X-GitHub-Event': 'push' }),
      ),
    ).toMatchObject({
      outcome: 'accepted',
    });
    expect(
      verifyWebhook('github', TOKEN, ['push'], signed('ping')),
    ).toMatchObject({ outcome: 'accepted', act: false });
    // A correctly signed payload of another event type replayed at the receiver: refused (400).
    expect(verifyWebhook('github', TOKEN, ['push'], signed('issues'))).toEqual({
      outcome: 'invalid',
      reason: 'EventNotAllowed',
      detail: 'the GitHub event "issues" is not authorised',
    });
    expect(
      verifyWebhook(
        'github',
        TOKEN,
        ['push'],
        signed('push', { 'X-Hub-Signature-256': hmac('sha256', 'x') }),
      ),
    ).toMatchObject({
      outcome: 'unauthenticated',
    });
    expect(
      verifyWebhook(
        'github',
        TOKEN,
        ['push'],
        call({ 'X-GitHub-Event': 'push' }),
      ),
    ).toMatchObject({ outcome: 'unauthenticated' });
  });

  it('gitlab: X-Gitlab-Token equals the token; X-Gitlab-Event in spec.events', () => {
    const headers = { 'X-Gitlab-Token': TOKEN, 'X-Gitlab-Event': 'Push Hook' };
    expect(
      verifyWebhook('gitlab', TOKEN, ['Push Hook'], call(headers)),
    ).toMatchObject({ outcome: 'accepted' });
    expect(
      verifyWebhook('gitlab', TOKEN, ['Tag Push Hook'], call(headers)),
    ).toMatchObject({ outcome: 'invalid', reason: 'EventNotAllowed' });
    expect(
      verifyWebhook(
        'gitlab',
        TOKEN,
        undefined,
        call({ ...headers, 'X-Gitlab-Token': `${TOKEN}x` }),
      ),
    ).toMatchObject({
      outcome: 'unauthenticated',
    });
  });

  it('bitbucket: X-Hub-Signature and X-Event-Key', () => {
    const headers = {
      'X-Hub-Signature': hmac('sha256'),
      'X-Event-Key': 'repo:refs_changed',
    };
    expect(
      verifyWebhook('bitbucket', TOKEN, ['repo:refs_changed'], call(headers)),
    ).toMatchObject({ outcome: 'accepted' });
    expect(
      verifyWebhook('bitbucket', TOKEN, ['pr:opened'], call(headers)),
    ).toMatchObject({ outcome: 'invalid' });
    expect(
      verifyWebhook(
        'bitbucket',
        TOKEN,
        undefined,
        call({ 'X-Event-Key': 'x' }),
      ),
    ).toMatchObject({ outcome: 'unauthenticated' });
  });

  it('harbor: the Authorization header is the token', () => {
    expect(
      verifyWebhook('harbor', TOKEN, undefined, call({ Authorization: TOKEN })),
    ).toMatchObject({ outcome: 'accepted' });
    expect(
      verifyWebhook(
        'harbor',
        TOKEN,
        undefined,
        call({ Authorization: `Bearer ${TOKEN}` }),
      ),
    ).toMatchObject({
      outcome: 'unauthenticated',
    });
  });

  it('nexus: X-Nexus-Webhook-Signature is the hex HMAC-SHA1 of the body', () => {
    const payload = Buffer.from(
      '{"action":"CREATED","repositoryName":"docker"}',
    );
    const signature = createHmac('sha1', TOKEN).update(payload).digest('hex');
    expect(
      verifyWebhook(
        'nexus',
        TOKEN,
        undefined,
        call({ 'X-Nexus-Webhook-Signature': signature }, payload),
      ),
    ).toMatchObject({
      outcome: 'accepted',
    });
    expect(
      verifyWebhook(
        'nexus',
        TOKEN,
        undefined,
        call({ 'X-Nexus-Webhook-Signature': 'ab' }, payload),
      ),
    ).toMatchObject({
      outcome: 'unauthenticated',
    });
  });

  it('dockerhub, quay and acr decode their JSON payloads (the secret path is their only authentication, as in Flux)', () => {
    const dockerhub = Buffer.from(
      '{"push_data":{"tag":"1.2.3"},"repository":{"repo_url":"https://hub.docker.com/r/acme/app"}}',
    );
    expect(
      verifyWebhook('dockerhub', TOKEN, undefined, call({}, dockerhub)),
    ).toEqual({
      outcome: 'accepted',
      act: true,
      detail:
        'DockerHub event from https://hub.docker.com/r/acme/app for tag 1.2.3',
    });
    expect(
      verifyWebhook(
        'quay',
        TOKEN,
        undefined,
        call(
          {},
          Buffer.from('{"docker_url":"quay.io/acme/app","updated_tags":["1"]}'),
        ),
      ),
    ).toMatchObject({
      outcome: 'accepted',
    });
    expect(
      verifyWebhook(
        'acr',
        TOKEN,
        undefined,
        call(
          {},
          Buffer.from(
            '{"action":"push","target":{"repository":"app","tag":"2"}}',
          ),
        ),
      ),
    ).toMatchObject({
      outcome: 'accepted',
    });
    for (const type of ['dockerhub', 'quay', 'acr']) {
      expect(
        verifyWebhook(
          type,
          TOKEN,
          undefined,
          call({}, Buffer.from('not json')),
        ),
      ).toMatchObject({ outcome: 'invalid', reason: 'InvalidPayload' });
    }
  });

  it('gcr: a Bearer Authorization header and a Pub/Sub message whose data is base64 JSON', () => {
    const pubsub = (data: string) =>
      Buffer.from(JSON.stringify({ message: { data, messageId: '1' } }));
    const event = Buffer.from(
      '{"action":"INSERT","digest":"gcr.io/p/app@sha256:ab","tag":"gcr.io/p/app:1"}',
    ).toString('base64');
    expect(
      verifyWebhook(
        'gcr',
        TOKEN,
        undefined,
        call({ Authorization: 'Bearer eyJ.x.y' }, pubsub(event)),
      ),
    ).toMatchObject({ outcome: 'accepted' });
    expect(
      verifyWebhook('gcr', TOKEN, undefined, call({}, pubsub(event))),
    ).toMatchObject({ outcome: 'unauthenticated' });
    expect(
      verifyWebhook(
        'gcr',
        TOKEN,
        undefined,
        call({ Authorization: 'Bearer eyJ.x.y' }, pubsub('!!')),
      ),
    ).toMatchObject({ outcome: 'invalid' });
  });

  it('distribution: Bearer token; acts on manifest pushes only (pulls and blob pushes are acknowledged)', () => {
    const envelope = (...events: object[]) =>
      Buffer.from(JSON.stringify({ events }));
    const push = {
      action: 'push',
      target: {
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        repository: 'team/app',
        tag: '1.2.0',
      },
    };
    const pull = {
      action: 'pull',
      target: {
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        repository: 'team/app',
        tag: '1.2.0',
      },
    };
    const blob = {
      action: 'push',
      target: { mediaType: 'application/octet-stream', repository: 'team/app' },
    };
    const auth = {
      Authorization: `Bearer ${TOKEN}`,
      'Content-Type': 'application/vnd.docker.distribution.events.v1+json',
    };
    expect(
      verifyWebhook(
        'distribution',
        TOKEN,
        undefined,
        call(auth, envelope(blob, push)),
      ),
    ).toEqual({
      outcome: 'accepted',
      act: true,
      detail: 'distribution push of team/app:1.2.0',
    });
    expect(
      verifyWebhook(
        'distribution',
        TOKEN,
        undefined,
        call(auth, envelope(pull, blob)),
      ),
    ).toMatchObject({ outcome: 'accepted', act: false });
    expect(
      verifyWebhook(
        'distribution',
        TOKEN,
        ['pull'],
        call(auth, envelope(pull)),
      ),
    ).toMatchObject({ act: true });
    expect(
      verifyWebhook(
        'distribution',
        TOKEN,
        undefined,
        call({ Authorization: TOKEN }, envelope(push)),
      ),
    ).toMatchObject({
      outcome: 'unauthenticated',
    });
    expect(
      verifyWebhook(
        'distribution',
        TOKEN,
        undefined,
        call(auth, Buffer.from('{"events":')),
      ),
    ).toMatchObject({ outcome: 'invalid' });
    expect(
      verifyWebhook(
        'distribution',
        TOKEN,
        undefined,
        call(auth, Buffer.from('{"events":{}}')),
      ),
    ).toMatchObject({ outcome: 'invalid' });
  });

  it('never puts the token or a signature into what it reports', () => {
    const verdicts = [
      verifyWebhook(
        'generic-hmac',
        TOKEN,
        undefined,
        call({ 'X-Signature': hmac('sha256', 'wrong') }),
      ),
      verifyWebhook(
        'gitlab',
        TOKEN,
        undefined,
        call({ 'X-Gitlab-Token': 'wrong' }),
      ),
      verifyWebhook(
        'distribution',
        TOKEN,
        undefined,
        call({ Authorization: 'Bearer wrong' }, Buffer.from('{}')),
      ),
    ];
    for (const verdict of verdicts)
      expect(JSON.stringify(verdict)).not.toMatch(
        new RegExp(`${TOKEN}|wrong|[0-9a-f]{40}`),
      );
  });

  it('compares strings in constant time whatever their lengths', () => {
    expect(constantTimeEqual('abc', 'abc')).toBe(true);
    expect(constantTimeEqual('abc', 'abcd')).toBe(false);
    expect(constantTimeEqual('', '')).toBe(true);
  });
});
