/**
 * Loopback listeners for the emulators: bind a preferred port (falling back to a free one), remember every socket,
 * and on close destroy them all, so `stop()` leaves no port or handle behind even while requests hang.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { Server as NetServer, Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export const LOOPBACK = '127.0.0.1';

/** Listens on 127.0.0.1:`preferred`, or on a port the kernel picks when `preferred` is unset or taken. */
export function listenOnLoopback(server: NetServer, preferred: number | undefined): Promise<number> {
  const attempt = (port: number): Promise<number> =>
    new Promise((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException): void => {
        server.off('listening', onListening);
        if (port !== 0 && err.code === 'EADDRINUSE') resolve(attempt(0));
        else reject(err);
      };
      const onListening = (): void => {
        server.off('error', onError);
        const address = server.address();
        resolve(typeof address === 'object' && address ? address.port : port);
      };
      server.once('error', onError);
      server.once('listening', onListening);
      server.listen(port, LOOPBACK);
    });
  return attempt(preferred ?? 0);
}

/** Remembers the sockets of a server so they can be destroyed at once. */
export class SocketTracker {
  private readonly sockets = new Set<Socket>();

  add(socket: Socket): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
  }

  destroyAll(): void {
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }
}

/** Stops listening and destroys every open connection; resolves when the port is released. */
export function closeServer(server: NetServer, sockets: SocketTracker): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) {
      sockets.destroyAll();
      resolve();
      return;
    }
    server.close(() => resolve());
    sockets.destroyAll();
  });
}

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

export interface RunningHttpsServer {
  readonly port: number;
  /** `https://127.0.0.1:<port>` (no trailing slash). */
  readonly url: string;
  close(): Promise<void>;
}

export interface HttpsServerOptions {
  certPem: string;
  keyPem: string;
  preferredPort: number | undefined;
  handler: RequestHandler;
  /** The 500 body sent when the handler fails (in the emulated service's error shape). */
  internalErrorBody: unknown;
  /** Called with handler failures (never with request bodies or credentials). */
  onError: (err: unknown) => void;
}

export async function startHttpsServer(options: HttpsServerOptions): Promise<RunningHttpsServer> {
  const sockets = new SocketTracker();
  const server = createServer({ cert: options.certPem, key: options.keyPem }, (req, res) => {
    options.handler(req, res).catch((err: unknown) => {
      options.onError(err);
      if (!res.headersSent && !res.destroyed) sendJson(res, 500, options.internalErrorBody);
    });
  });
  server.on('connection', (socket: Socket) => sockets.add(socket));
  // A client that aborts its handshake is not the emulator's problem.
  server.on('tlsClientError', () => undefined);
  const port = await listenOnLoopback(server, options.preferredPort);
  return {
    port,
    url: `https://${LOOPBACK}:${port}`,
    close: () => closeServer(server, sockets),
  };
}

/** Waits `ms`, or rejects with an AbortError when `signal` fires (the emulator is stopping). */
export async function delay(ms: number, signal: AbortSignal): Promise<void> {
  if (ms > 0) await sleep(ms, undefined, { signal });
}

export function isAbortError(err: unknown): boolean {
  return err instanceof Error && err.name === 'AbortError';
}

/** Reads a request body as UTF-8, refusing bodies over `limitBytes`. */
export async function readBody(req: IncomingMessage, limitBytes = 1_048_576): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limitBytes) throw new RangeError(`request body exceeds ${limitBytes} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const payload = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, {
    ...(payload ? { 'content-type': 'application/json; charset=utf-8' } : {}),
    'content-length': String(Buffer.byteLength(payload)),
    ...headers,
  });
  res.end(payload);
}

/** Decodes one percent-encoded path segment, leaving malformed ones as they are. */
export function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
