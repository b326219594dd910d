import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import type { Logger } from 'pino';

/** What a service needs to join the messaging fabric. */
export interface MessagingOptions {
  /** The service name: queue group of its command handlers, prefix of its durable consumers. */
  service: string;
  natsUrl: string;
  /** Prefix of every subject and stream (see `naming`); '' or absent for none. */
  namespace?: string;
}

export interface ConnectNatsOptions {
  /** One URL, a comma-separated list, or a list of URLs. */
  servers: string | string[];
  /** Client name shown by the server's monitoring. */
  name: string;
  logger: Logger;
  /** First delay between start-up attempts; doubles up to `maxRetryDelayMs`. Default 500 ms. */
  retryDelayMs?: number;
  maxRetryDelayMs?: number;
  /** Gives up the start-up attempts when aborted (rejecting with the signal's reason). */
  signal?: AbortSignal;
}

const state = new WeakMap<NatsConnection, { connected: boolean }>();

/**
 * Connects to NATS. At start-up the server may not be up yet (containers start in any order), so
 * it keeps trying with a log line per attempt instead of crashing; once connected, the client
 * reconnects forever and disconnects/reconnects are logged.
 */
export async function connectNats(options: ConnectNatsOptions): Promise<NatsConnection> {
  const servers = (Array.isArray(options.servers) ? options.servers : options.servers.split(','))
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const { logger } = options;
  const maxDelay = options.maxRetryDelayMs ?? 5_000;
  let delay = options.retryDelayMs ?? 500;
  for (let attempt = 1; ; attempt++) {
    options.signal?.throwIfAborted();
    try {
      const nc = await connect({
        servers,
        name: options.name,
        maxReconnectAttempts: -1,
        reconnectTimeWait: 1_000,
        timeout: 5_000,
      });
      logger.info({ server: nc.getServer(), attempt }, 'connected to NATS');
      state.set(nc, { connected: true });
      void watchStatus(nc, logger);
      return nc;
    } catch (err) {
      logger.warn(
        { attempt, err: (err as Error).message },
        `NATS not reachable at ${servers.join(',')}, retrying in ${delay} ms`,
      );
      await sleep(delay, options.signal);
      delay = Math.min(delay * 2, maxDelay);
    }
  }
}

/** True while the connection is established (false while reconnecting, draining or closed). */
export function isNatsConnected(nc: NatsConnection): boolean {
  if (nc.isClosed() || nc.isDraining()) return false;
  return state.get(nc)?.connected ?? true;
}

async function watchStatus(nc: NatsConnection, logger: Logger): Promise<void> {
  const s = state.get(nc);
  for await (const status of nc.status()) {
    switch (status.type) {
      case 'disconnect':
        if (s) s.connected = false;
        logger.warn({ server: status.server }, 'disconnected from NATS, reconnecting');
        break;
      case 'reconnect':
        if (s) s.connected = true;
        logger.info({ server: status.server }, 'reconnected to NATS');
        break;
      case 'error':
        logger.error({ err: status.error.message }, 'NATS connection error');
        break;
      case 'ldm':
        logger.warn({ server: status.server }, 'NATS server entering lame duck mode');
        break;
      default:
        break;
    }
  }
  if (s) s.connected = false;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
