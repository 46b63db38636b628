/**
 * One HPC Pack node's listener: a real TCP port on loopback that completes TLS handshakes with the node's
 * certificate, stalls (accepts TCP, never answers, so the client's handshake timeout fires), or refuses
 * connections. Switching the certificate affects new handshakes only, like a node manager re-binding its cert.
 */
import { createServer as createTcpServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import { closeServer, listenOnLoopback, LOOPBACK, SocketTracker } from '../shared/server.js';
import type { NodeCertificate, NodeReachability } from './types.js';

export class NodeListener {
  private readonly sockets = new SocketTracker();
  private readonly tls: TlsServer;
  private readonly tcp: Server;
  private reachability: NodeReachability = 'tls';
  private boundPort = 0;

  private constructor(certificate: NodeCertificate) {
    this.tls = createTlsServer({ cert: certificate.certPem, key: certificate.keyPem });
    // Clients probe the certificate and hang up; neither side's errors matter to the node.
    this.tls.on('tlsClientError', () => undefined);
    this.tls.on('secureConnection', (socket) => {
      socket.on('error', () => undefined);
      socket.on('end', () => socket.end());
    });
    this.tcp = createTcpServer((socket: Socket) => {
      this.sockets.add(socket);
      socket.on('error', () => undefined);
      if (this.reachability === 'tls') this.tls.emit('connection', socket);
      // 'stall': keep the socket open and silent until the client gives up or the listener closes.
    });
  }

  static async start(certificate: NodeCertificate, reachability: NodeReachability, preferredPort?: number): Promise<NodeListener> {
    const listener = new NodeListener(certificate);
    listener.boundPort = await listenOnLoopback(listener.tcp, preferredPort);
    await listener.setReachability(reachability);
    return listener;
  }

  get port(): number {
    return this.boundPort;
  }

  get host(): string {
    return LOOPBACK;
  }

  get mode(): NodeReachability {
    return this.reachability;
  }

  setCertificate(certificate: NodeCertificate): void {
    this.tls.setSecureContext({ cert: certificate.certPem, key: certificate.keyPem });
  }

  /** Changes behaviour for new connections and drops the current ones (a node that becomes unreachable loses them). */
  async setReachability(reachability: NodeReachability): Promise<void> {
    this.reachability = reachability;
    if (reachability === 'closed') {
      await closeServer(this.tcp, this.sockets);
      return;
    }
    this.sockets.destroyAll();
    if (!this.tcp.listening) {
      const port = await listenOnLoopback(this.tcp, this.boundPort);
      if (port !== this.boundPort) {
        await closeServer(this.tcp, this.sockets);
        throw new Error(`port ${this.boundPort} of the node listener was taken while it was closed`);
      }
    }
  }

  close(): Promise<void> {
    return closeServer(this.tcp, this.sockets);
  }
}
