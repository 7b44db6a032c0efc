import { createHmac } from 'node:crypto';
import { FluxEvent } from './fluxEvent';

/** JSON as Go's encoding/json writes it: `<`, `>`, `&`, U+2028 and U+2029 escaped. */
function goJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[<>&\u2028\u2029]/g,
    c => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** What a Provider sends one event as: where, with which headers, which body. @internal */
export interface ProviderRequest {
  url: URL;
  headers: Record<string, string>;
  body: string;
}

/** The Provider settings the body depends on. @internal */
export interface PayloadSettings {
  type: string;
  url: URL;
  channel?: string;
  username?: string;
  /** The credential's token: Slack's bot token, generic-hmac's key. */
  token?: string;
}

/** `kind/name.namespace`, how Flux's chat providers name the object. */
function objectName(event: FluxEvent): string {
  const o = event.involvedObject;
  return `${o.kind.toLowerCase()}/${o.name}.${o.namespace}`;
}

const entries = (event: FluxEvent) => Object.entries(event.metadata ?? {});

/** Slack's (and Discord's Slack-compatible) message: one attachment with the metadata as fields. */
function slackPayload(
  event: FluxEvent,
  username: string | undefined,
  channel: string | undefined,
) {
  return {
    channel: channel ?? '',
    username: username || event.reportingController,
    icon_url: '',
    icon_emoji: '',
    attachments: [
      {
        color: event.severity === 'error' ? 'danger' : 'good',
        author_name: objectName(event),
        text: event.message,
        mrkdwn_in: ['text'],
        fields: entries(event).map(([title, value]) => ({
          title,
          value,
          short: false,
        })),
      },
    ],
  };
}

/** Teams' adaptive card (Flux's default), or the legacy connector card for `*.webhook.office.com`. */
function teamsPayload(event: FluxEvent, url: URL) {
  const name = objectName(event);
  if (url.hostname.endsWith('.webhook.office.com')) {
    return {
      '@type': 'MessageCard',
      '@context': 'http://schema.org/extensions',
      themeColor: event.severity === 'error' ? 'FF0000' : '0076D7',
      summary: name,
      sections: [
        {
          activityTitle: event.message,
          activitySubtitle: name,
          facts: entries(event).map(([key, value]) => ({ name: key, value })),
        },
      ],
    };
  }
  const summary = event.metadata?.summary;
  const facts = [
    ...(summary !== undefined ? [{ title: 'summary', value: summary }] : []),
    ...entries(event)
      .filter(([key]) => key !== 'summary')
      .map(([title, value]) => ({ title, value })),
  ];
  return {
    type: 'message',
    attachments: [
      {
        contentType: 'application/vnd.microsoft.card.adaptive',
        content: {
          $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
          type: 'AdaptiveCard',
          version: '1.4',
          body: [
            {
              type: 'Container',
              items: [
                {
                  type: 'TextBlock',
                  text: name,
                  size: 'large',
                  weight: 'bolder',
                  wrap: true,
                },
                {
                  type: 'TextBlock',
                  text: event.message,
                  ...(event.severity === 'error' ? { color: 'attention' } : {}),
                  wrap: true,
                },
                { type: 'FactSet', ...(facts.length > 0 ? { facts } : {}) },
              ],
            },
          ],
          msteams: { width: 'Full' },
        },
      },
    ],
  };
}

/** Google Chat's card: the message, then the metadata as key/value widgets. */
function googleChatPayload(event: FluxEvent) {
  const sections: unknown[] = [
    {
      header: '',
      widgets: [
        {
          textParagraph: {
            text:
              event.severity === 'error'
                ? `<font color="#ff0000">${event.message}</font>`
                : event.message,
          },
          keyValue: null,
        },
      ],
    },
  ];
  if (entries(event).length > 0) {
    sections.push({
      header: '',
      widgets: entries(event).map(([topLabel, content]) => ({
        textParagraph: null,
        keyValue: {
          topLabel,
          content,
          contentMultiline: false,
          bottomLabel: null,
          icon: null,
        },
      })),
    });
  }
  return {
    cards: [
      {
        header: {
          title: objectName(event),
          subtitle: event.reportingController,
          imageUrl: null,
          imageStyle: null,
        },
        sections,
      },
    ],
  };
}

/**
 * The request Flux's notifier of `settings.type` sends for `event` (notification-controller
 * v1.5.0): Slack's `chat.postMessage` / incoming-webhook JSON (bot token as a Bearer header),
 * Discord's Slack-compatible webhook (`/slack` appended), Teams' adaptive card, Google Chat's
 * card, the event itself for `generic`, signed with `X-Signature: sha256=<hex HMAC>` of the
 * body for `generic-hmac`, and a `repository_dispatch` for `githubdispatch` (`settings.url` is
 * then already the API's `…/dispatches` URL, see providerTarget.destination).
 * @internal
 */
export function providerRequest(
  settings: PayloadSettings,
  event: FluxEvent,
): ProviderRequest {
  const headers: Record<string, string> = {
    'Content-Type': 'application/json',
  };
  let url = settings.url;
  let payload: unknown;
  switch (settings.type) {
    case 'slack':
      payload = slackPayload(event, settings.username, settings.channel);
      if (settings.token) headers.Authorization = `Bearer ${settings.token}`;
      break;
    case 'discord':
      payload = slackPayload(event, settings.username, undefined);
      if (!url.href.endsWith('/slack')) {
        url = new URL(url.href);
        url.pathname = `${url.pathname.replace(/\/+$/, '')}/slack`;
      }
      break;
    case 'msteams':
      payload = teamsPayload(event, url);
      break;
    case 'googlechat':
      payload = googleChatPayload(event);
      break;
    case 'githubdispatch':
      // A repository_dispatch: the event type names the object, the payload is the event.
      payload = {
        event_type: `${event.involvedObject.kind}/${event.involvedObject.name}.${event.involvedObject.namespace}`,
        client_payload: event,
      };
      headers.Accept = 'application/vnd.github.v3+json';
      headers['X-GitHub-Api-Version'] = '2022-11-28';
      if (settings.token) headers.Authorization = `Bearer ${settings.token}`;
      break;
    case 'generic':
    case 'generic-hmac':
      payload = event;
      headers['gotk-component'] = event.reportingController;
      break;
    default:
      throw new Error(`provider type '${settings.type}' is not supported`);
  }
  const body = goJson(payload);
  if (settings.type === 'generic-hmac') {
    if (!settings.token) throw new Error('HMAC key is empty');
    headers['X-Signature'] = `sha256=${createHmac('sha256', settings.token)
      .update(body)
      .digest('hex')}`;
  }
  return { url, headers, body };
}
