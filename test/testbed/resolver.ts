import { LookupFunction } from 'node:net';

/**
 * A test-only resolver (RegistryClient's `lookup` seam): each of `names` is this machine
 * (127.0.0.1), every other name is unknown. Lets a test reach a server on loopback by a name that
 * is not loopback, such as a cloud registry's host or `registry.test`.
 * @public
 */
export function loopbackResolver(names: Iterable<string>): LookupFunction {
  const known = new Set(names);
  return (hostname, options, callback) => {
    const reply = callback as (...args: unknown[]) => void;
    if (!known.has(hostname)) {
      reply(
        Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), {
          code: 'ENOTFOUND',
        }),
        '',
        4,
      );
    } else if ((options as { all?: boolean }).all) {
      reply(null, [{ address: '127.0.0.1', family: 4 }]);
    } else {
      reply(null, '127.0.0.1', 4);
    }
  };
}
