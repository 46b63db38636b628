import { createServer } from 'node:net';

/**
 * Returns a TCP port on 127.0.0.1 that is free right now: `preferred` when it can be bound, otherwise one the
 * kernel picks. The port is released before returning, so callers that hand it to another process must retry
 * when the bind fails.
 */
export function freePort(preferred = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (preferred !== 0 && err.code === 'EADDRINUSE') resolve(freePort(0));
      else reject(err);
    });
    server.listen(preferred, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
