import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy in front of a real server (PostgreSQL, NATS) for testing how a client lives
 * through network failures without mocking the client or the server:
 * - `up`: connections are forwarded;
 * - `refuse`: new connections are closed at once (a server that is down);
 * - `blackhole`: new connections are accepted and never answered (a partitioned network).
 * `cut()` also destroys every open connection, as a crashed server or a dropped link would.
 */
export interface TcpProxy {
  /** Port the proxy listens on (127.0.0.1). */
  readonly port: number;
  /** `postgres://...` / `nats://...` URL of the target rewritten to go through the proxy. */
  url(targetUrl: string): string;
  setMode(mode: 'up' | 'refuse' | 'blackhole'): void;
  /** Destroys every open connection (the mode decides what happens to new ones). */
  cut(): void;
  /** Sockets currently open through the proxy (client and upstream sides). */
  readonly connections: number;
  close(): Promise<void>;
}

export async function startTcpProxy(targetHost: string, targetPort: number): Promise<TcpProxy> {
  let mode: 'up' | 'refuse' | 'blackhole' = 'up';
  const open = new Set<Socket>();
  const track = (socket: Socket): void => {
    open.add(socket);
    socket.on('close', () => open.delete(socket));
    // Errors are the point of this proxy; an unheard 'error' would crash the test process.
    socket.on('error', () => socket.destroy());
  };
  const server: Server = createServer((client) => {
    track(client);
    if (mode === 'refuse') {
      client.destroy();
      return;
    }
    if (mode === 'blackhole') return;
    const upstream = connect(targetPort, targetHost);
    track(upstream);
    client.pipe(upstream);
    upstream.pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url(targetUrl) {
      const u = new URL(targetUrl);
      u.hostname = '127.0.0.1';
      u.port = String(port);
      return u.toString();
    },
    setMode(next) {
      mode = next;
    },
    cut() {
      for (const socket of open) socket.destroy();
    },
    get connections() {
      return open.size;
    },
    close() {
      for (const socket of open) socket.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
