import { createServer, connect as tcpConnect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { eventually, testNatsUrl } from '@orch/testing';
import { connectNats, isNatsConnected } from './index';

/** A pino logger whose lines land in `lines`. */
function capturingLogger() {
  const lines: { msg: string; level: number }[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l));
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines };
}

/** A TCP forwarder to the test NATS server that can be started late and cut. */
function natsProxy() {
  const target = new URL(testNatsUrl());
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  const proxy = {
    port: 0,
    async reserve() {
      // Find a free port, then release it so the first attempts are refused.
      const probe = createServer();
      await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
      proxy.port = (probe.address() as AddressInfo).port;
      await new Promise((r) => probe.close(r));
    },
    async start() {
      server = createServer((client) => {
        const upstream = tcpConnect(Number(target.port || 4222), target.hostname);
        sockets.add(client).add(upstream);
        client.pipe(upstream).pipe(client);
        const end = () => {
          client.destroy();
          upstream.destroy();
        };
        client.on('error', end).on('close', end);
        upstream.on('error', end).on('close', end);
      });
      await new Promise<void>((r) => server!.listen(proxy.port, '127.0.0.1', r));
    },
    cut() {
      for (const s of sockets) s.destroy();
      sockets.clear();
    },
    async stop() {
      proxy.cut();
      await new Promise((r) => (server ? server.close(r) : r(undefined)));
    },
  };
  return proxy;
}

describe('connectNats', () => {
  it('retries with a log line per attempt until NATS is reachable, then logs disconnects and reconnects', async () => {
    const proxy = natsProxy();
    await proxy.reserve();
    const { logger, lines } = capturingLogger();
    const connecting = connectNats({
      servers: `nats://127.0.0.1:${proxy.port}`,
      name: 'test',
      logger,
      retryDelayMs: 50,
      maxRetryDelayMs: 100,
    });

    await eventually(() =>
      lines.filter((l) => l.msg.startsWith('NATS not reachable')).length >= 2 ? true : undefined,
    );
    await proxy.start();
    const nc = await connecting;
    try {
      expect(lines.find((l) => l.msg.startsWith('NATS not reachable'))?.msg).toMatch(
        new RegExp(`^NATS not reachable at nats://127\\.0\\.0\\.1:${proxy.port}, retrying in \\d+ ms$`),
      );
      expect(lines.some((l) => l.msg === 'connected to NATS')).toBe(true);
      expect(isNatsConnected(nc)).toBe(true);

      proxy.cut();
      await eventually(
        () => (lines.some((l) => l.msg.startsWith('disconnected from NATS')) ? true : undefined),
        { what: 'disconnect log' },
      );
      await eventually(() => (lines.some((l) => l.msg === 'reconnected to NATS') ? true : undefined), {
        what: 'reconnect log',
      });
      await eventually(() => (isNatsConnected(nc) ? true : undefined));
    } finally {
      await nc.close();
      await proxy.stop();
    }
    expect(isNatsConnected(nc)).toBe(false);
  });

  it('gives up start-up attempts when aborted', async () => {
    const proxy = natsProxy();
    await proxy.reserve();
    const { logger } = capturingLogger();
    const controller = new AbortController();
    const connecting = connectNats({
      servers: [`nats://127.0.0.1:${proxy.port}`],
      name: 't',
      logger,
      retryDelayMs: 20,
      signal: controller.signal,
    });
    controller.abort(new Error('shutting down'));
    await expect(connecting).rejects.toThrow('shutting down');
  });
});
