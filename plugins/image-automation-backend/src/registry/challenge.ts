/** One `WWW-Authenticate` challenge. @internal */
export interface AuthChallenge {
  scheme: 'basic' | 'bearer' | string;
  params: Record<string, string>;
}

/**
 * Parses a `WWW-Authenticate` header value, e.g.
 * `Bearer realm="https://auth.example/token",service="registry",scope="repository:a:pull",error="insufficient_scope"`.
 * Only the first challenge is returned (registries send one).
 * @internal
 */
export function parseChallenge(
  header: string | undefined,
): AuthChallenge | undefined {
  if (!header) {
    return undefined;
  }
  const match = /^\s*([A-Za-z][\w-]*)\s*(.*)$/s.exec(header);
  if (!match) {
    return undefined;
  }
  const params: Record<string, string> = {};
  const paramPattern =
    /([\w-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*,?\s*/g;
  for (const param of match[2].matchAll(paramPattern)) {
    params[param[1].toLowerCase()] =
      param[2] !== undefined ? param[2].replace(/\\(.)/g, '$1') : param[3];
  }
  return { scheme: match[1].toLowerCase(), params };
}
