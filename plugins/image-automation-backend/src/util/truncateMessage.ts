/**
 * The longest message (in characters) stored in a condition, an event, a scan record or a
 * store, or returned by the API. Messages carry text from outside — registry error bodies,
 * git's stderr, Kubernetes API server answers, template errors — and a hostile or broken
 * server can make that text megabytes long, copied on every retry (issue #13).
 * Kubernetes allows 32768 characters in a condition message; these messages are read by
 * people, so a shorter bound keeps status and events readable.
 * @internal
 */
export const MAX_MESSAGE_LENGTH = 4096;

/**
 * Cuts `message` to at most `max` characters, saying how much was cut:
 * `<head>… (N more characters)`. Never splits a surrogate pair.
 * @internal
 */
export function truncateMessage(
  message: string,
  max = MAX_MESSAGE_LENGTH,
): string {
  if (typeof message !== 'string') return message;
  if (message.length <= max) return message;
  const marker = (n: number) => `… (${n} more characters)`;
  let head = Math.max(0, max - marker(message.length).length);
  const code = message.charCodeAt(head - 1);
  if (head > 0 && code >= 0xd800 && code <= 0xdbff) head--;
  return message.slice(0, head) + marker(message.length - head);
}
