import net from 'node:net';

/**
 * Asks the kernel for a free TCP port on 127.0.0.1.
 *
 * The port is released before it is returned, so another process could take it in between;
 * the starters in this folder retry with a new port when a server fails to bind.
 * @internal
 */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') {
          resolve(address.port);
        } else {
          reject(new Error('could not allocate a port'));
        }
      });
    });
  });
}
