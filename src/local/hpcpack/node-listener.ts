/**
 * One HPC Pack node's listener: a real TCP port on loopback that completes TLS handshakes with the node's
 * certificate, stalls (accepts TCP, never answers, so the client's handshake timeout fires), or turns connections
 * away (`closed`: reset at once). Switching the certificate affects new handshakes only, like a node manager
 * re-binding its cert. A closed node keeps its port: were it released, the kernel could hand it to a node created
 * later, and probes of the closed node would reach that node instead.
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
      socket.on('error', () => undefined);
      if (this.reachability === 'closed') {
        socket.resetAndDestroy(); // TCP RST: the client sees ECONNRESET, no handshake
        return;
      }
      this.sockets.add(socket);
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
  setReachability(reachability: NodeReachability): Promise<void> {
    this.reachability = reachability;
    this.sockets.destroyAll();
    return Promise.resolve();
  }

  close(): Promise<void> {
    return closeServer(this.tcp, this.sockets);
  }
}
