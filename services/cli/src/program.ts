import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { listAgents } from './commands/agents';
import type { CommandContext } from './commands/context';
import { tail } from './commands/events-tail';
import { exportSession } from './commands/export';
import { importFile } from './commands/import';
import { replay } from './commands/replay';
import { listSessions } from './commands/sessions';
import { PATTERNS, submit } from './commands/submit';
import { verify } from './commands/verify';
import { styleFor } from './format/style';
import { GatewayClient, GatewayUnreachableError, ProblemError, UnexpectedResponseError } from './http';
import { CliError, ExitCode, defaultSleep, writeLine, type CliDeps } from './io';

/** The global options, on every command. */
export interface GlobalOptions {
  /** The gateway's base URL. */
  readonly url: string;
  /** API key (Bearer). */
  readonly key?: string;
  readonly json: boolean;
}

export const DEFAULT_GATEWAY_URL = 'http://127.0.0.1:8080';
const SESSION_STATUSES = ['running', 'completed', 'failed', 'cancelled'];

/**
 * The `orchestrator` program, wired to the given process parts. Commands report failures by
 * throwing: {@link CliError} (with its exit code), {@link ProblemError} (the gateway refused),
 * {@link GatewayUnreachableError}, or a CommanderError for a bad command line - {@link run}
 * turns each into its message and exit code. Parse with `parseAsync(argv, { from: 'user' })`.
 */
export function buildProgram(deps: CliDeps): Command {
  const program = new Command('orchestrator')
    .description(
      'Command line of the agent orchestrator: sessions, agents, live events, replay, verify, export and import',
    )
    .addOption(
      new Option('--url <url>', 'gateway base URL (env ORCH_GATEWAY_URL)').default(
        deps.env['ORCH_GATEWAY_URL'] || DEFAULT_GATEWAY_URL,
      ),
    )
    // No default shown in --help: the key from the environment is a secret.
    .option('--key <key>', 'API key (env ORCH_API_KEY)')
    .option('--json', 'print raw JSON documents instead of tables and timelines', false)
    .exitOverride()
    .configureOutput({
      writeOut: (text) => deps.stdout.write(text),
      writeErr: (text) => deps.stderr.write(text),
    })
    .configureHelp({ showGlobalOptions: true })
    .showHelpAfterError('(orchestrator --help lists the commands)');

  const context = (command: Command): CommandContext => {
    const globals = command.optsWithGlobals<GlobalOptions>();
    const key = globals.key || deps.env['ORCH_API_KEY'];
    checkGatewayUrl(globals.url);
    return {
      client: new GatewayClient({
        baseUrl: globals.url,
        ...(key ? { apiKey: key } : {}),
        fetch: deps.fetch,
      }),
      stdout: deps.stdout,
      stderr: deps.stderr,
      json: globals.json === true,
      style: styleFor(deps.stdout, deps.env),
      env: deps.env,
      stdin: deps.stdin,
      signal: deps.signal,
      sleep: deps.sleep ?? defaultSleep,
    };
  };

  program
    .command('sessions')
    .description('list sessions, newest first (GET /api/orchestration/sessions)')
    .addOption(new Option('--status <status>', 'only sessions in this status').choices(SESSION_STATUSES))
    .option('--limit <n>', 'most sessions to list', positiveInteger, 50)
    .action(async (options: { status?: string; limit: number }, command: Command) => {
      await listSessions(context(command), options);
    });

  program
    .command('agents')
    .description('list registered agents (GET /api/agents)')
    .action(async (_options: unknown, command: Command) => {
      await listAgents(context(command));
    });

  program
    .command('submit')
    .description('start a session from a workflow file (YAML, or JSON for .json files)')
    .argument('<workflow>', 'workflow file, e.g. examples/workflows/feature.yaml')
    .addOption(new Option('--pattern <pattern>', "override the file's pattern").choices(PATTERNS))
    .option('--wait', 'follow the session until it ends and print its outcome', false)
    .action(async (file: string, options: { pattern?: string; wait: boolean }, command: Command) => {
      await submit(context(command), file, options);
    });

  const events = program.command('events').description('live events');
  events
    .command('tail')
    .description('follow the live event stream, one line per event, until Ctrl-C (GET /api/events/stream)')
    .option('--session <id>', "only this session's events")
    .option('--types <types>', 'only these event types, comma-separated (TaskAssigned,TaskFailed)', typeList)
    .action(async (options: { session?: string; types?: string[] }, command: Command) => {
      await tail(context(command), options);
    });

  program
    .command('replay')
    .description("a session's history as a timeline, then its state at the end (or at --at)")
    .argument('<session>', 'session id')
    .option('--at <position>', 'show the state as it was at this global position', position)
    .option('--step', 'one event at a time with the state after it (Enter: next, q: quit)', false)
    .action(async (sessionId: string, options: { at?: string; step: boolean }, command: Command) => {
      await replay(context(command), sessionId, options);
    });

  program
    .command('verify')
    .description("decide the session's recorded commands again with today's code; exit 1 on divergences")
    .argument('<session>', 'session id')
    .action(async (sessionId: string, _options: unknown, command: Command) => {
      await verify(context(command), sessionId);
    });

  program
    .command('export')
    .description("write a session's history as NDJSON (one event per line) to a file or stdout")
    .argument('<session>', 'session id')
    .option('-o, --output <file>', 'write to this file instead of stdout')
    .action(async (sessionId: string, options: { output?: string }, command: Command) => {
      await exportSession(context(command), sessionId, options);
    });

  program
    .command('import')
    .description('append an NDJSON export into a PostgreSQL event store (offline: no gateway)')
    .argument('<file>', 'NDJSON file written by `orchestrator export`')
    // Never taken from the environment: appending into a store is done only where asked.
    .requiredOption('--database-url <url>', 'PostgreSQL connection URL of the target store')
    .option('--schema <schema>', "the event store's schema", schemaName, 'eventstore')
    .action(async (file: string, options: { databaseUrl: string; schema: string }, command: Command) => {
      const globals = command.optsWithGlobals<GlobalOptions>();
      await importFile(deps.stdout, file, {
        databaseUrl: options.databaseUrl,
        schema: options.schema,
        json: globals.json === true,
      });
    });

  return program;
}

/**
 * Runs the command line (arguments after the program name) and returns the exit code
 * (docs/cli.md): 0 done, 1 a failure reported (divergences, a failed session) or an unexpected
 * error, 2 refused (the gateway's error answer, a bad command line or input file), 3 the
 * gateway or database unreachable, 130 interrupted while waiting.
 */
export async function run(argv: readonly string[], deps: CliDeps): Promise<number> {
  const program = buildProgram(deps);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return ExitCode.ok;
  } catch (err) {
    if (deps.signal?.aborted && !(err instanceof CliError)) {
      writeLine(deps.stderr, 'interrupted');
      return ExitCode.interrupted;
    }
    return report(err, deps);
  }
}

/** Prints what went wrong on stderr and gives the exit code. */
export function report(err: unknown, deps: Pick<CliDeps, 'stderr' | 'env'>): number {
  const style = styleFor(deps.stderr, deps.env);
  if (err instanceof CommanderError) {
    // --help and --version end with code 0; commander already printed the usage error.
    return err.exitCode === 0 ? ExitCode.ok : ExitCode.refused;
  }
  if (err instanceof CliError) {
    if (err.message) writeLine(deps.stderr, `${style.red('error:')} ${err.message}`);
    return err.exitCode;
  }
  if (err instanceof ProblemError) {
    writeLine(
      deps.stderr,
      `${style.red('error:')} ${err.status} ${err.title}${err.detail ? ` - ${err.detail}` : ''}`,
    );
    for (const e of err.errors) writeLine(deps.stderr, `  ${e.path || '(body)'}: ${e.message}`);
    if (err.status === 401) writeLine(deps.stderr, '  (pass an API key with --key or ORCH_API_KEY)');
    writeLine(
      deps.stderr,
      style.dim(
        `  ${err.method} ${err.url}${err.correlationId ? `  correlation id ${err.correlationId}` : ''}`,
      ),
    );
    return ExitCode.refused;
  }
  if (err instanceof GatewayUnreachableError) {
    writeLine(deps.stderr, `${style.red('error:')} ${err.message} (set --url or ORCH_GATEWAY_URL)`);
    return ExitCode.unreachable;
  }
  if (err instanceof UnexpectedResponseError) {
    writeLine(deps.stderr, `${style.red('error:')} ${err.message}`);
    return ExitCode.failure;
  }
  const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
  writeLine(deps.stderr, `${style.red('error:')} unexpected failure: ${message}`);
  return ExitCode.failure;
}

// ------------------------------------------------------------------------------ option parsing

/** `--limit`: a whole number from 1. */
export function positiveInteger(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1 || !Number.isSafeInteger(Number(value))) {
    throw new InvalidArgumentError('must be a whole number of at least 1');
  }
  return Number(value);
}

/** `--at`: a global position, kept as its decimal text (64-bit positions exceed JSON numbers). */
export function position(value: string): string {
  if (!/^\d{1,20}$/.test(value) || BigInt(value) > (1n << 64n) - 1n) {
    throw new InvalidArgumentError('must be a global position (a whole number)');
  }
  return BigInt(value).toString();
}

/** `--url` (or ORCH_GATEWAY_URL): an http(s) URL. */
function checkGatewayUrl(value: string): void {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new CliError(
      `the gateway URL ${JSON.stringify(value)} is not an http(s) URL (--url or ORCH_GATEWAY_URL)`,
      ExitCode.refused,
    );
  }
}

/** `--schema`: what the event store accepts as a schema name. */
export function schemaName(value: string): string {
  if (!/^[a-z_][a-z0-9_]{0,47}$/.test(value)) {
    throw new InvalidArgumentError(
      'must be a lower-case identifier of at most 48 characters ([a-z_][a-z0-9_]*)',
    );
  }
  return value;
}

/** `--types a,b`: event type names. */
export function typeList(value: string): string[] {
  const types = value
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '');
  const bad = types.find((t) => !/^[A-Za-z0-9_-]+$/.test(t));
  if (types.length === 0 || bad !== undefined) {
    throw new InvalidArgumentError(
      bad === undefined ? 'name at least one event type' : `"${bad}" is not an event type name`,
    );
  }
  return types;
}
