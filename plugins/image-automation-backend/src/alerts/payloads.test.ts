import { createHmac } from 'node:crypto';
import { FluxEvent } from './fluxEvent';
import { providerRequest } from './payloads';

// The bodies notification-controller v1.5.0's notifiers send (internal/notifier/*.go), byte for
// byte where Go's encoding is deterministic (struct field order, HTML escaping).

const event: FluxEvent = {
  involvedObject: {
    kind: 'ImageRepository',
    namespace: 'apps',
    name: 'podinfo',
    apiVersion: 'image.toolkit.fluxcd.io/v1',
  },
  severity: 'error',
  timestamp: '2026-12-03T20:00:00Z',
  message: 'scan failed: <401> & retrying',
  reason: 'AuthenticationFailed',
  metadata: { cluster: 'prod', summary: 'Podinfo impacted' },
  reportingController: 'image-reflector-controller',
};
const info: FluxEvent = {
  ...event,
  severity: 'info',
  message: 'successful scan: found 3 tags',
  metadata: undefined,
};

describe('providerRequest', () => {
  it('slack: chat.postMessage with the bot token as a Bearer header, channel and username', () => {
    const request = providerRequest(
      {
        type: 'slack',
        url: new URL('https://slack.com/api/chat.postMessage'),
        channel: 'general',
        username: 'flux',
        token: 'xoxb-1',
      },
      event,
    );
    expect(request.url.href).toBe('https://slack.com/api/chat.postMessage');
    expect(request.headers).toEqual({
      'Content-Type': 'application/json',
      Authorization: 'Bearer xoxb-1',
    });
    expect(request.body).toBe(
      '{"channel":"general","username":"flux","icon_url":"","icon_emoji":"","attachments":[{"color":"danger","author_name":"imagerepository/podinfo.apps","text":"scan failed: \\u003c401\\u003e \\u0026 retrying","mrkdwn_in":["text"],"fields":[{"title":"cluster","value":"prod","short":false},{"title":"summary","value":"Podinfo impacted","short":false}]}]}',
    );
  });

  it('slack incoming webhook: no token, no channel; the username defaults to the reporting controller', () => {
    const request = providerRequest(
      { type: 'slack', url: new URL('https://hooks.slack.com/services/T/B/X') },
      info,
    );
    expect(request.headers.Authorization).toBeUndefined();
    expect(JSON.parse(request.body)).toEqual({
      channel: '',
      username: 'image-reflector-controller',
      icon_url: '',
      icon_emoji: '',
      attachments: [
        {
          color: 'good',
          author_name: 'imagerepository/podinfo.apps',
          text: 'successful scan: found 3 tags',
          mrkdwn_in: ['text'],
          fields: [],
        },
      ],
    });
  });

  it('discord: the Slack-compatible body at <webhook>/slack, without the channel', () => {
    const request = providerRequest(
      {
        type: 'discord',
        url: new URL('https://discord.com/api/webhooks/1/abc'),
        channel: 'ignored',
        username: 'flux',
      },
      info,
    );
    expect(request.url.href).toBe(
      'https://discord.com/api/webhooks/1/abc/slack',
    );
    expect(JSON.parse(request.body)).toMatchObject({
      channel: '',
      username: 'flux',
    });
    const already = providerRequest(
      {
        type: 'discord',
        url: new URL('https://discord.com/api/webhooks/1/abc/slack'),
      },
      info,
    );
    expect(already.url.href).toBe(
      'https://discord.com/api/webhooks/1/abc/slack',
    );
  });

  it('msteams: the adaptive card, summary fact first, message in attention colour for errors', () => {
    const request = providerRequest(
      {
        type: 'msteams',
        url: new URL('https://prod.westeurope.logic.azure.com/workflows/1'),
      },
      event,
    );
    expect(request.body).toBe(
      '{"type":"message","attachments":[{"contentType":"application/vnd.microsoft.card.adaptive","content":{"$schema":"http://adaptivecards.io/schemas/adaptive-card.json","type":"AdaptiveCard","version":"1.4","body":[{"type":"Container","items":[{"type":"TextBlock","text":"imagerepository/podinfo.apps","size":"large","weight":"bolder","wrap":true},{"type":"TextBlock","text":"scan failed: \\u003c401\\u003e \\u0026 retrying","color":"attention","wrap":true},{"type":"FactSet","facts":[{"title":"summary","value":"Podinfo impacted"},{"title":"cluster","value":"prod"}]}]}],"msteams":{"width":"Full"}}}]}',
    );
    const plain = JSON.parse(
      providerRequest(
        { type: 'msteams', url: new URL('https://example.com/x') },
        info,
      ).body,
    );
    expect(plain.attachments[0].content.body[0].items[1]).toEqual({
      type: 'TextBlock',
      text: info.message,
      wrap: true,
    });
    expect(plain.attachments[0].content.body[0].items[2]).toEqual({
      type: 'FactSet',
    });
  });

  it('msteams: the legacy MessageCard for *.webhook.office.com connectors', () => {
    const request = providerRequest(
      {
        type: 'msteams',
        url: new URL('https://acme.webhook.office.com/webhookb2/x'),
      },
      event,
    );
    expect(JSON.parse(request.body)).toEqual({
      '@type': 'MessageCard',
      '@context': 'http://schema.org/extensions',
      themeColor: 'FF0000',
      summary: 'imagerepository/podinfo.apps',
      sections: [
        {
          activityTitle: event.message,
          activitySubtitle: 'imagerepository/podinfo.apps',
          facts: [
            { name: 'cluster', value: 'prod' },
            { name: 'summary', value: 'Podinfo impacted' },
          ],
        },
      ],
    });
  });

  it('googlechat: a card with the message (red for errors) and the metadata as key/values', () => {
    const request = providerRequest(
      {
        type: 'googlechat',
        url: new URL('https://chat.googleapis.com/v1/spaces/X/messages'),
      },
      event,
    );
    expect(request.body).toContain(
      '"text":"\\u003cfont color=\\"#ff0000\\"\\u003escan failed',
    );
    expect(JSON.parse(request.body)).toEqual({
      cards: [
        {
          header: {
            title: 'imagerepository/podinfo.apps',
            subtitle: 'image-reflector-controller',
            imageUrl: null,
            imageStyle: null,
          },
          sections: [
            {
              header: '',
              widgets: [
                {
                  textParagraph: {
                    text: `<font color="#ff0000">${event.message}</font>`,
                  },
                  keyValue: null,
                },
              ],
            },
            {
              header: '',
              widgets: [
                {
                  textParagraph: null,
                  keyValue: {
                    topLabel: 'cluster',
                    content: 'prod',
                    contentMultiline: false,
                    bottomLabel: null,
                    icon: null,
                  },
                },
                {
                  textParagraph: null,
                  keyValue: {
                    topLabel: 'summary',
                    content: 'Podinfo impacted',
                    contentMultiline: false,
                    bottomLabel: null,
                    icon: null,
                  },
                },
              ],
            },
          ],
        },
      ],
    });
    const plain = JSON.parse(
      providerRequest(
        { type: 'googlechat', url: new URL('https://chat.googleapis.com/x') },
        info,
      ).body,
    );
    expect(plain.cards[0].sections).toHaveLength(1);
  });

  it('generic: Flux’s event JSON with the gotk-component header; no signature', () => {
    const request = providerRequest(
      { type: 'generic', url: new URL('https://hooks.example.com/flux') },
      event,
    );
    expect(request.headers).toEqual({
      'Content-Type': 'application/json',
      'gotk-component': 'image-reflector-controller',
    });
    expect(request.body).toBe(
      '{"involvedObject":{"kind":"ImageRepository","namespace":"apps","name":"podinfo","apiVersion":"image.toolkit.fluxcd.io/v1"},"severity":"error","timestamp":"2026-12-03T20:00:00Z","message":"scan failed: \\u003c401\\u003e \\u0026 retrying","reason":"AuthenticationFailed","metadata":{"cluster":"prod","summary":"Podinfo impacted"},"reportingController":"image-reflector-controller"}',
    );
  });

  it('generic-hmac: X-Signature is sha256=<hex HMAC-SHA256 of the exact body> under the token', () => {
    const request = providerRequest(
      {
        type: 'generic-hmac',
        url: new URL('https://hooks.example.com/flux'),
        token: 'hmac-key',
      },
      info,
    );
    const expected = createHmac('sha256', 'hmac-key')
      .update(request.body)
      .digest('hex');
    expect(request.headers['X-Signature']).toBe(`sha256=${expected}`);
    expect(JSON.parse(request.body)).toEqual(info);
    expect(() =>
      providerRequest(
        { type: 'generic-hmac', url: new URL('https://h.example.com/') },
        info,
      ),
    ).toThrow('HMAC key is empty');
  });

  it('githubdispatch: a repository_dispatch with the object as event type and the event as client payload', () => {
    const request = providerRequest(
      {
        type: 'githubdispatch',
        url: new URL('https://api.github.com/repos/acme/fleet/dispatches'),
        token: 'ghp_x',
      },
      info,
    );
    expect(request.headers).toEqual({
      'Content-Type': 'application/json',
      Accept: 'application/vnd.github.v3+json',
      'X-GitHub-Api-Version': '2022-11-28',
      Authorization: 'Bearer ghp_x',
    });
    expect(JSON.parse(request.body)).toEqual({
      event_type: 'ImageRepository/podinfo.apps',
      client_payload: info,
    });
  });

  it('refuses a type it has no notifier for', () => {
    expect(() =>
      providerRequest(
        { type: 'github', url: new URL('https://github.com/o/r') },
        info,
      ),
    ).toThrow("provider type 'github' is not supported");
  });
});
