/**
 * @orch/cli - the `orchestrator` command line (docs/cli.md). Exported for tests and for tools that
 * run it in-process: {@link run} takes the arguments and the process parts and gives the exit code.
 */
export { buildProgram, run, report, DEFAULT_GATEWAY_URL, type GlobalOptions } from './program';
export { ExitCode, CliError, type CliDeps, type Output, type Input } from './io';
export { GatewayClient, ProblemError, GatewayUnreachableError, type GatewayClientOptions } from './http';
