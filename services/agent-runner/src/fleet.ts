import { setMaxListeners } from 'node:events';
import {
  AgentClient,
  runAgent,
  type AgentRegistration,
  type ClientOptions,
  type RunStats,
} from '@orch/agent-sdk';
import { pino, type Logger } from 'pino';
import { agentNames, type AgentConfig, type RunnerConfig } from './config';
import { createExecutor, type Executor } from './executors/executor';

export interface FleetOptions {
  /** Aborting it stops the fleet, like `stop()`. */
  readonly signal?: AbortSignal;
  /** Lines carry the agent's name and id, and the task and session ids of task work. Default: silent. */
  readonly logger?: Logger;
  /** Leave the agents registered when the fleet stops (default: deregister them). */
  readonly keepAgents?: boolean;
  /** Environment for executors (`apiKeyEnv`); default `process.env`. */
  readonly env?: NodeJS.ProcessEnv;
  /** Passed to every SDK client (fetch, timeouts, retry policy). */
  readonly client?: Omit<ClientOptions, 'logger'>;
}

/** One running agent of the fleet. */
export interface FleetAgent {
  /** Its configured name (`<name>-<i>` for replicas). */
  readonly name: string;
  readonly agentId: string;
  readonly client: AgentClient;
  /** What it did so far; final once `done` settles. */
  readonly stats: Promise<RunStats>;
}

export interface FleetHandle {
  readonly agents: readonly FleetAgent[];
  /**
   * Stops the fleet: no new polls, agents drained, in-flight tasks finish, then every agent is
   * deregistered unless `keepAgents`. Safe to call more than once; resolves with `done`.
   */
  stop(): Promise<void>;
  /** Settles once every agent stopped (and was deregistered); never rejects, failures are logged. */
  readonly done: Promise<void>;
}

/** One replica to register: its name, its registration and the executor that does its work. */
interface Replica {
  readonly name: string;
  readonly config: AgentConfig;
  readonly registration: AgentRegistration;
  readonly executor: Executor;
}

/**
 * Registers every agent of `config` with the gateway (its operator key) and runs each one with
 * `runAgent` and its executor until stopped. A registration that fails undoes the ones that
 * succeeded and rejects, so a fleet starts whole or not at all.
 */
export async function runFleet(config: RunnerConfig, options: FleetOptions = {}): Promise<FleetHandle> {
  const logger = options.logger ?? pino({ level: 'silent' });
  const replicas = config.agents.flatMap((agent) => replicasOf(agent, options.env ?? process.env));
  const clients = await registerAll(config, replicas, options, logger);

  const stopping = new AbortController();
  // Every agent's run listens to it: more than the default 10 listeners is expected, not a leak.
  setMaxListeners(replicas.length + 10, stopping.signal);
  const stop = (): void => stopping.abort();
  options.signal?.addEventListener('abort', stop, { once: true });
  if (options.signal?.aborted) stop();

  const agents: FleetAgent[] = replicas.map((replica, i) => {
    const client = clients[i] as AgentClient;
    const log = logger.child({ agent: replica.name }); // runAgent adds agentId
    const stats = runAgent(client, (assignment, ctx) => replica.executor(assignment, ctx), {
      concurrency: replica.config.maxConcurrency,
      waitMs: config.polling.waitMs,
      heartbeatIntervalMs: config.polling.heartbeatIntervalMs,
      shutdownGraceMs: config.polling.shutdownGraceMs,
      drainOnStop: true,
      signal: stopping.signal,
      logger: log,
    });
    stats.catch((err: unknown) => log.error({ err }, 'agent stopped on an error'));
    return { name: replica.name, agentId: client.agentId, client, stats };
  });
  logger.info({ agents: agents.length }, 'fleet running');

  const done = (async () => {
    await Promise.allSettled(agents.map((a) => a.stats));
    options.signal?.removeEventListener('abort', stop);
    if (!options.keepAgents) await deregisterAll(agents, logger);
    logger.info({}, 'fleet stopped');
  })();
  return {
    agents,
    done,
    stop: () => {
      stop();
      return done;
    },
  };
}

/** The replicas of one configured agent, each with its own executor (so its own seeded draws). */
function replicasOf(agent: AgentConfig, env: NodeJS.ProcessEnv): Replica[] {
  return agentNames(agent.name, agent.count).map((name) => ({
    name,
    config: agent,
    registration: {
      name,
      provider: agent.provider,
      model: agent.model,
      capabilities: agent.capabilities ?? [agent.type as string],
      maxConcurrency: agent.maxConcurrency,
      costPer1kInputTokens: agent.costPer1kInputTokens,
      costPer1kOutputTokens: agent.costPer1kOutputTokens,
      ...(agent.labels ? { labels: agent.labels } : {}),
      ...(agent.type ? { type: agent.type } : {}),
    },
    executor: createExecutor(agent.executor, { ...agent, name }, env),
  }));
}

async function registerAll(
  config: RunnerConfig,
  replicas: readonly Replica[],
  options: FleetOptions,
  logger: Logger,
): Promise<AgentClient[]> {
  const results = await Promise.allSettled(
    replicas.map((r) =>
      AgentClient.register(config.gateway.url, config.gateway.apiKey, r.registration, {
        ...options.client,
        logger: logger.child({ agent: r.name }),
      }),
    ),
  );
  const failed = results.flatMap((result, i) =>
    result.status === 'rejected' ? [{ name: replicas[i]?.name, err: result.reason }] : [],
  );
  const registered = results.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
  if (failed.length === 0) return registered;
  await Promise.allSettled(registered.map((client) => client.deregister()));
  const reasons = failed.map((f) => `${f.name}: ${f.err instanceof Error ? f.err.message : String(f.err)}`);
  throw new Error(
    `could not register ${failed.length} of ${replicas.length} agent(s):\n  ${reasons.join('\n  ')}`,
  );
}

async function deregisterAll(agents: readonly FleetAgent[], logger: Logger): Promise<void> {
  await Promise.all(
    agents.map(async (agent) => {
      try {
        await agent.client.deregister();
      } catch (err) {
        logger.warn({ agent: agent.name, agentId: agent.agentId, err }, 'could not deregister the agent');
      }
    }),
  );
}
