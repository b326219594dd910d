import type { GatewayClient } from '../http';
import type { Input, Output } from '../io';
import type { Style } from '../format/style';

/** What every command runs with: the gateway client, the streams, and the global options. */
export interface CommandContext {
  readonly client: GatewayClient;
  readonly stdout: Output;
  readonly stderr: Output;
  /** `--json`: raw documents instead of tables and timelines. */
  readonly json: boolean;
  /** Colours for stdout (none unless it is a TTY). */
  readonly style: Style;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdin: Input | undefined;
  /** Aborted on Ctrl-C. */
  readonly signal: AbortSignal | undefined;
  readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
}
