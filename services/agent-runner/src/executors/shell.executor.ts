import { spawn } from 'node:child_process';
import { TaskFailure, type Assignment } from '@orch/agent-sdk';
import type { ShellExecutorConfig } from '../config';
import type { Executor, ExecutorContext } from './executor';

/** sysexits.h EX_TEMPFAIL: a command exiting with it asks for its failure to be retried. */
export const EXIT_TEMPFAIL = 75;

/** Characters of stderr quoted in a failure. */
const STDERR_TAIL = 2_000;

/**
 * Runs a shell command per assignment, in its own process group so that a timeout or an abort
 * kills everything it started. The assignment reaches it as environment variables
 * (`ORCH_TASK_INPUT` holds the input as JSON). Exit 0 completes the task with
 * `{exitCode, stdout, stderr}` (plus the fields of stdout when it is a JSON object, so a command
 * can answer a review or a plan); any other exit fails it with the tail of stderr, retryable
 * only for exit code 75 (EX_TEMPFAIL) or a kill by a signal.
 */
export function createShellExecutor(config: ShellExecutorConfig): Executor {
  return async (assignment, ctx) => {
    const run = await runCommand(config, assignment, ctx);
    if (run.kind === 'timeout') {
      throw new TaskFailure(`timed out after ${config.timeoutMs} ms`, { retryable: true });
    }
    if (run.kind === 'aborted') throw new TaskFailure(`interrupted: ${run.reason}`, { retryable: true });
    const { exitCode, signal, stdout, stderr } = run;
    if (exitCode !== 0) {
      const how = signal ? `was killed by ${signal}` : `exited with code ${exitCode}`;
      const tail = stderr.text.trim().slice(-STDERR_TAIL);
      throw new TaskFailure(`command ${how}${tail ? `: ${tail}` : ''}`, {
        retryable: signal !== null || exitCode === EXIT_TEMPFAIL,
      });
    }
    return {
      output: {
        ...jsonObject(stdout.text),
        exitCode,
        stdout: stdout.text,
        stderr: stderr.text,
        ...(stdout.truncated || stderr.truncated
          ? { truncated: { stdout: stdout.truncated, stderr: stderr.truncated } }
          : {}),
      },
    };
  };
}

type CommandRun =
  | {
      kind: 'exited';
      exitCode: number | null;
      signal: NodeJS.Signals | null;
      stdout: Captured;
      stderr: Captured;
    }
  | { kind: 'timeout' }
  | { kind: 'aborted'; reason: string };

async function runCommand(
  config: ShellExecutorConfig,
  assignment: Assignment,
  ctx: ExecutorContext,
): Promise<CommandRun> {
  if (ctx.signal.aborted) return { kind: 'aborted', reason: reasonOf(ctx.signal) };
  const child = spawn(config.command, {
    shell: true,
    cwd: config.cwd,
    env: { ...process.env, ...config.env, ...taskEnv(assignment) },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group: killing -pid reaches the shell and every process it started.
    detached: true,
  });
  const stdout = new TailBuffer(config.maxOutputBytes);
  const stderr = new TailBuffer(config.maxOutputBytes);
  child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));

  let ended: CommandRun | undefined;
  const killGroup = (outcome: CommandRun): void => {
    ended ??= outcome;
    if (child.pid !== undefined) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  };
  const timer = setTimeout(() => killGroup({ kind: 'timeout' }), config.timeoutMs);
  const onAbort = (): void => killGroup({ kind: 'aborted', reason: reasonOf(ctx.signal) });
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  try {
    return await new Promise<CommandRun>((resolve, reject) => {
      child.once('error', (err) =>
        reject(
          new TaskFailure(`could not start the command: ${err.message}`, { retryable: false, cause: err }),
        ),
      );
      // 'close', not 'exit': it waits for stdout and stderr to end, so nothing written is lost.
      child.once('close', (exitCode, signal) =>
        resolve(ended ?? { kind: 'exited', exitCode, signal, stdout: stdout.read(), stderr: stderr.read() }),
      );
    });
  } finally {
    clearTimeout(timer);
    ctx.signal.removeEventListener('abort', onAbort);
  }
}

/** What a command learns about its task. */
function taskEnv(assignment: Assignment): Record<string, string> {
  return {
    ORCH_TASK_ID: assignment.taskId,
    ORCH_TASK_KEY: assignment.key,
    ORCH_SESSION_ID: assignment.sessionId,
    ORCH_TASK_TYPE: assignment.type,
    ORCH_TASK_ROLE: assignment.role,
    ORCH_TASK_ATTEMPT: String(assignment.attempt),
    ORCH_TASK_DESCRIPTION: assignment.description,
    ORCH_TASK_INPUT: JSON.stringify(assignment.input),
    ORCH_GOAL: assignment.goal,
    ORCH_PATTERN: assignment.pattern,
    ORCH_ROUND: String(assignment.round),
    ...(assignment.reviewOf ? { ORCH_REVIEW_OF: assignment.reviewOf } : {}),
  };
}

interface Captured {
  readonly text: string;
  readonly truncated: boolean;
}

/** Keeps the last `limit` bytes of a stream: a chatty command cannot exhaust memory. */
class TailBuffer {
  private chunks: Buffer[] = [];
  private size = 0;
  private truncated = false;

  constructor(private readonly limit: number) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    if (this.size > this.limit * 2) this.trim();
  }

  read(): Captured {
    this.trim();
    return { text: Buffer.concat(this.chunks).toString('utf8'), truncated: this.truncated };
  }

  private trim(): void {
    if (this.size <= this.limit) return;
    const all = Buffer.concat(this.chunks);
    this.chunks = [all.subarray(all.length - this.limit)];
    this.size = this.limit;
    this.truncated = true;
  }
}

function jsonObject(text: string): Record<string, unknown> {
  const trimmed = text.trim();
  if (!trimmed.startsWith('{')) return {};
  try {
    const parsed: unknown = JSON.parse(trimmed);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : {};
  } catch {
    return {};
  }
}

function reasonOf(signal: AbortSignal): string {
  return signal.reason instanceof Error ? signal.reason.message : 'aborted';
}
