import { createLogger, stopOnSignal } from '@orch/observability';
import { Command, CommanderError, Option } from 'commander';
import { loadRunnerConfig, RunnerConfigError } from './config';
import { runFleet } from './fleet';

/** Exit code of a bad command line or config: nothing was started. */
export const EXIT_USAGE = 2;

export interface CliIo {
  readonly stderr: (text: string) => void;
  readonly exit: (code: number) => void;
  readonly env: NodeJS.ProcessEnv;
}

const processIo: CliIo = {
  stderr: (text) => process.stderr.write(text),
  exit: (code) => process.exit(code),
  env: process.env,
};

interface CliOptions {
  readonly config: string;
  readonly logLevel: string;
  readonly keepAgents: boolean;
}

/**
 * `orch-agent-runner --config <file> [--log-level <level>] [--keep-agents]`: registers the
 * config's agents and runs them until SIGTERM or SIGINT, then stops polling, lets in-flight
 * tasks finish and deregisters the agents (unless --keep-agents). A bad command line or config
 * is reported on stderr with exit code 2; a fleet that cannot start exits with 1.
 */
export async function runCli(argv: readonly string[], io: CliIo = processIo): Promise<void> {
  const options = parseArgs(argv, io);
  if (!options) return;

  let config;
  try {
    config = loadRunnerConfig(options.config, io.env);
  } catch (err) {
    if (!(err instanceof RunnerConfigError)) throw err;
    io.stderr(`${err.message}\n`);
    io.exit(EXIT_USAGE);
    return;
  }

  const logger = createLogger({ service: 'agent-runner', level: options.logLevel });
  let fleet;
  try {
    fleet = await runFleet(config, { logger, keepAgents: options.keepAgents, env: io.env });
  } catch (err) {
    logger.error({ err }, 'the fleet could not start');
    io.exit(1);
    return;
  }
  let stopRequested = false;
  stopOnSignal({
    service: 'agent-runner',
    logger,
    close: () => {
      stopRequested = true;
      return fleet.stop();
    },
    // In-flight tasks get their grace, deregistration a little more.
    timeoutMs: config.polling.shutdownGraceMs + 15_000,
    exit: io.exit,
  });
  // Every agent ended on its own (keys revoked, agents deregistered): nothing is left to run.
  void fleet.done.then(() => {
    if (stopRequested) return;
    logger.error({}, 'every agent stopped on an error; exiting');
    io.exit(1);
  });
}

function parseArgs(argv: readonly string[], io: CliIo): CliOptions | undefined {
  const program = new Command('orch-agent-runner')
    .description('Hosts many agents from one config file (sim, shell and llm executors)')
    .requiredOption('--config <file>', 'YAML or JSON fleet config')
    .addOption(
      new Option('--log-level <level>', 'minimum log level')
        .choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
        .default('info'),
    )
    .option('--keep-agents', 'leave the agents registered on exit', false)
    .exitOverride()
    .configureOutput({ writeErr: io.stderr, writeOut: io.stderr });
  try {
    program.parse([...argv]);
  } catch (err) {
    if (!(err instanceof CommanderError)) throw err;
    // --help and --version are not errors.
    io.exit(err.exitCode === 0 ? 0 : EXIT_USAGE);
    return undefined;
  }
  return program.opts<CliOptions>();
}
