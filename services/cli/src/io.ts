/**
 * What the command line needs from the process, passed in so the whole program runs in a test
 * without spawning: output streams, environment, fetch, stdin, Ctrl-C and the clock's sleep.
 */

/** Where text goes: process.stdout / process.stderr, or a collector in tests. */
export interface Output {
  write(text: string): unknown;
  /** True when a person is looking at it: colours and prompts only then. */
  readonly isTTY?: boolean;
}

/** Where `replay --step` reads its keys from. */
export type Input = NodeJS.ReadableStream & { readonly isTTY?: boolean };

export interface CliDeps {
  readonly fetch: typeof fetch;
  readonly stdout: Output;
  readonly stderr: Output;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Read by `replay --step`; absent means "not a terminal" (step through everything). */
  readonly stdin?: Input;
  /** Aborted on Ctrl-C: ends `events tail`, `submit --wait` and `replay --step`. */
  readonly signal?: AbortSignal;
  /** Waits between polls (`submit --wait`); tests make it instant. */
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** Exit codes (docs/cli.md). */
export const ExitCode = {
  ok: 0,
  /** The command worked and reports a failure: divergences, a session that failed, an unexpected error. */
  failure: 1,
  /** Refused: the gateway answered an error, the command line or an input file is invalid. */
  refused: 2,
  /** The gateway (or the database, for import) could not be reached. */
  unreachable: 3,
  /** Interrupted with Ctrl-C while waiting for something that had not happened yet. */
  interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/**
 * Ends the command with an exit code. The message (when not empty) is printed on stderr; an
 * empty one means the command already said what happened (e.g. verify listed its divergences).
 */
export class CliError extends Error {
  override readonly name = 'CliError';
  readonly code = 'cli';

  constructor(
    message: string,
    readonly exitCode: ExitCode,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function defaultSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Writes one line (adds the newline). */
export const writeLine = (out: Output, line = ''): void => {
  out.write(`${line}\n`);
};

/** Writes lines, each with its newline. */
export const writeLines = (out: Output, lines: readonly string[]): void => {
  if (lines.length > 0) out.write(`${lines.join('\n')}\n`);
};

/** A JSON document as the `--json` output prints it: indented, one document per call. */
export const writeJson = (out: Output, value: unknown): void => {
  out.write(`${JSON.stringify(value, null, 2)}\n`);
};
