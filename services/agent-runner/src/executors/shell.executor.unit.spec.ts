import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TaskFailure } from '@orch/agent-sdk';
import type { ShellExecutorConfig } from '../config';
import { createShellExecutor } from './shell.executor';
import { aContext, anAssignment } from './testing';

const shell = (command: string, extra: Partial<ShellExecutorConfig> = {}) =>
  createShellExecutor({
    kind: 'shell',
    command,
    timeoutMs: 10_000,
    env: {},
    maxOutputBytes: 1_048_576,
    ...extra,
  });

/** True while a process with this pid runs (a zombie, killed but not yet reaped, does not). */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

describe('shell executor', () => {
  it('runs the command with the task in its environment and completes with its output', async () => {
    const run = shell(
      'echo "$ORCH_TASK_ID $ORCH_TASK_KEY $ORCH_TASK_ROLE $ORCH_TASK_INPUT $GREETING"; echo warn >&2',
      {
        env: { GREETING: 'hi' },
      },
    );
    const { output } = await run(anAssignment({ taskId: 't-9', key: 'build', input: { n: 1 } }), aContext());
    expect(output).toEqual({ exitCode: 0, stdout: 't-9 build work {"n":1} hi\n', stderr: 'warn\n' });
  });

  it('runs in cwd', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shell-exec-'));
    const { output } = await shell('pwd', { cwd: dir })(anAssignment(), aContext());
    expect(String(output['stdout']).trim()).toBe(execFileSync('realpath', [dir]).toString().trim());
  });

  it('merges a JSON object printed on stdout into the output, so a command can answer a review', async () => {
    const { output } = await shell(`echo '{"verdict": "approved", "comments": []}'`)(
      anAssignment({ role: 'review' }),
      aContext(),
    );
    expect(output).toMatchObject({ verdict: 'approved', comments: [], exitCode: 0 });
  });

  it('fails with the tail of stderr on a non-zero exit, not retryable', async () => {
    const err = await shell('echo compiling; echo "error: missing semicolon" >&2; exit 3')(
      anAssignment(),
      aContext(),
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TaskFailure);
    expect(err).toMatchObject({
      retryable: false,
      message: 'command exited with code 3: error: missing semicolon',
    });
  });

  it('marks exit code 75 (EX_TEMPFAIL) retryable', async () => {
    await expect(shell('exit 75')(anAssignment(), aContext())).rejects.toMatchObject({ retryable: true });
  });

  it('kills the whole process group on timeout and fails retryably', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shell-timeout-'));
    const pidFile = join(dir, 'child.pid');
    // The shell starts a grandchild that would outlive a kill of the shell alone.
    const run = shell(`sleep 60 & echo $! > ${pidFile}; wait`, { timeoutMs: 300 });
    await expect(run(anAssignment(), aContext())).rejects.toMatchObject({
      retryable: true,
      message: 'timed out after 300 ms',
    });
    const grandchild = Number(readFileSync(pidFile, 'utf8'));
    expect(grandchild).toBeGreaterThan(0);
    expect(running(grandchild)).toBe(false);
  });

  it('kills the command when its signal aborts', async () => {
    const controller = new AbortController();
    const running = shell('sleep 30')(anAssignment(), aContext(controller));
    setTimeout(() => controller.abort(new Error('the agent is stopping')), 50);
    await expect(running).rejects.toMatchObject({
      retryable: true,
      message: 'interrupted: the agent is stopping',
    });
  });

  it('keeps only the last maxOutputBytes of each stream', async () => {
    const { output } = await shell('seq 1 20000', { maxOutputBytes: 100 })(anAssignment(), aContext());
    const stdout = String(output['stdout']);
    expect(Buffer.byteLength(stdout)).toBe(100);
    expect(stdout.endsWith('19999\n20000\n')).toBe(true);
    expect(output['truncated']).toEqual({ stdout: true, stderr: false });
  });

  it('fails for good when the command cannot start', async () => {
    await expect(shell('true', { cwd: '/no/such/dir' })(anAssignment(), aContext())).rejects.toMatchObject({
      retryable: false,
      message: expect.stringContaining('could not start the command'),
    });
  });
});
