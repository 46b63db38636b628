/**
 * One TLS listener for every node of a cluster: the client names the node in SNI (`<name>.<nodeDomain>`, which Rotor
 * resolves to loopback through ROTOR_LOCAL_HOSTS) and the listener answers as that node — with the node's
 * certificate, by stalling (the handshake never completes, so the client's timeout fires), or by turning the
 * connection away (`closed`: aborted before the handshake). Thousands of nodes cost one port and one secure context
 * per distinct certificate (nodes presenting the same certificate share it), so a large cluster starts in
 * milliseconds. Switching a node's certificate affects new handshakes only.
 */
import { createServer as createTcpServer, type Server, type Socket } from 'node:net';
import { createSecureContext, createServer as createTlsServer, type SecureContext, type Server as TlsServer } from 'node:tls';
import { closeServer, listenOnLoopback, SocketTracker } from '../shared/server.js';
import type { NodeCertificate, NodeEndpoint, NodeReachability } from './types.js';

interface SniNode {
  certificate: NodeCertificate;
  reachability: NodeReachability;
}

export class SniListener {
  private readonly sockets = new SocketTracker();
  private readonly tls: TlsServer;
  private readonly tcp: Server;
  private readonly nodes = new Map<string, SniNode>();
  /** Secure contexts by certificate PEM: one per distinct certificate, however many nodes present it. */
  private readonly contexts = new Map<string, SecureContext>();
  private boundPort = 0;

  private constructor(
    readonly domain: string,
    /** Added before each handshake is answered: the network round trip to a real node (benchmark). */
    private readonly latencyMs: number,
  ) {
    // No certificate of its own: a server context with one would keep offering it beside the node's (OpenSSL picks
    // by key type), and a client that sends no SNI names no node — its handshake fails.
    this.tls = createTlsServer({
      SNICallback: (servername, callback) => {
        const node = this.nodes.get(this.nodeName(servername));
        if (!node || node.reachability === 'closed') {
          callback(new Error(node ? `node ${servername} is closed` : `no node ${servername}`));
          return;
        }
        if (node.reachability === 'stall') return; // never answers: the client's handshake timeout fires
        const context = this.context(node.certificate);
        if (this.latencyMs > 0) setTimeout(() => callback(null, context), this.latencyMs).unref();
        else callback(null, context);
      },
    });
    this.tls.on('tlsClientError', () => undefined);
    this.tls.on('secureConnection', (socket) => {
      socket.on('error', () => undefined);
      socket.on('end', () => socket.end());
    });
    this.tcp = createTcpServer((socket: Socket) => {
      this.sockets.add(socket);
      socket.on('error', () => undefined);
      this.tls.emit('connection', socket);
    });
  }

  /** Listens on loopback (the preferred port when it is free). */
  static async start(domain: string, preferredPort?: number, latencyMs = 0): Promise<SniListener> {
    const listener = new SniListener(domain.toLowerCase().replace(/^\.+|\.+$/g, ''), latencyMs);
    listener.boundPort = await listenOnLoopback(listener.tcp, preferredPort);
    return listener;
  }

  get port(): number {
    return this.boundPort;
  }

  /** The DNS name of a node: `<name>.<domain>`. */
  hostOf(name: string): string {
    return `${name}.${this.domain}`;
  }

  private nodeName(servername: string): string {
    const host = servername.toLowerCase().replace(/\.$/, '');
    return host.endsWith(`.${this.domain}`) ? host.slice(0, -(this.domain.length + 1)) : host;
  }

  private context(certificate: NodeCertificate): SecureContext {
    let c = this.contexts.get(certificate.certPem);
    if (!c) this.contexts.set(certificate.certPem, (c = createSecureContext({ cert: certificate.certPem, key: certificate.keyPem })));
    return c;
  }

  /** Adds a node (served at once) and returns its endpoint. */
  add(name: string, certificate: NodeCertificate, reachability: NodeReachability): NodeEndpoint {
    const key = name.toLowerCase();
    const node: SniNode = { certificate, reachability };
    this.nodes.set(key, node);
    const nodes = this.nodes;
    return {
      host: this.hostOf(name),
      port: this.boundPort,
      get mode() {
        return node.reachability;
      },
      setCertificate(next) {
        node.certificate = next;
      },
      setReachability(next) {
        node.reachability = next; // new handshakes only; a stalled one waits for its client's timeout
        return Promise.resolve();
      },
      close() {
        nodes.delete(key);
        return Promise.resolve();
      },
    };
  }

  /** Distinct certificates served (secure contexts built so far). */
  get contextCount(): number {
    return this.contexts.size;
  }

  close(): Promise<void> {
    return closeServer(this.tcp, this.sockets);
  }
}
