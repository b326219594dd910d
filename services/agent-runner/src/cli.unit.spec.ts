import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeGateway, problem } from '@orch/agent-sdk/testing';
import { eventually, freePort } from '@orch/testing';
import { EXIT_USAGE, runCli, type CliIo } from './cli';

/** Runs the CLI with captured stderr and exit code. */
async function cli(...args: string[]): Promise<{ stderr: string; exitCode: number | undefined }> {
  let stderr = '';
  let exitCode: number | undefined;
  const io: CliIo = {
    stderr: (text) => (stderr += text),
    exit: (code) => (exitCode ??= code),
    env: {},
  };
  await runCli(['node', 'orch-agent-runner', ...args], io);
  return { stderr, exitCode };
}

describe('orch-agent-runner', () => {
  it('prints every problem of a bad config and exits 2', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'runner-cli-')), 'fleet.yaml');
    writeFileSync(
      file,
      'gateway:\n  url: http://127.0.0.1:8080\n  apiKey: ${ORCH_OPERATOR_KEY}\nagents: []\n',
    );
    const { stderr, exitCode } = await cli('--config', file);
    expect(exitCode).toBe(EXIT_USAGE);
    expect(stderr).toContain(`invalid agent-runner config ${file}`);
    expect(stderr).toContain('gateway.apiKey: environment variable ORCH_OPERATOR_KEY is not set');
  });

  it('exits 2 without --config', async () => {
    const { stderr, exitCode } = await cli();
    expect(exitCode).toBe(EXIT_USAGE);
    expect(stderr).toContain("required option '--config <file>' not specified");
  });

  it('exits 2 on an unknown log level', async () => {
    const { stderr, exitCode } = await cli('--config', 'x.yaml', '--log-level', 'loud');
    expect(exitCode).toBe(EXIT_USAGE);
    expect(stderr).toContain('Allowed choices are fatal, error, warn, info, debug, trace, silent');
  });

  it('exits 1 when the fleet cannot register with the gateway', async () => {
    const port = await freePort();
    const file = join(mkdtempSync(join(tmpdir(), 'runner-cli-')), 'fleet.json');
    const agent = { name: 'a', provider: 'p', model: 'm', type: 'coder', executor: { kind: 'sim' } };
    writeFileSync(
      file,
      JSON.stringify({ gateway: { url: `http://127.0.0.1:${port}`, apiKey: 'k' }, agents: [agent] }),
    );
    const { exitCode } = await cli('--config', file, '--log-level', 'silent');
    expect(exitCode).toBe(1);
  });

  it('exits 1 when every agent stopped on an error', async () => {
    const gateway = await FakeGateway.start();
    try {
      gateway.intercept((req) =>
        req.path.endsWith('/next') ? problem(403, 'the key was revoked') : undefined,
      );
      const file = join(mkdtempSync(join(tmpdir(), 'runner-cli-')), 'fleet.json');
      const agent = {
        name: 'a',
        count: 2,
        provider: 'p',
        model: 'm',
        type: 'coder',
        executor: { kind: 'sim' },
      };
      writeFileSync(file, JSON.stringify({ gateway: { url: gateway.url, apiKey: 'k' }, agents: [agent] }));
      let exitCode: number | undefined;
      const io: CliIo = { stderr: () => undefined, exit: (code) => (exitCode ??= code), env: {} };
      await runCli(['node', 'orch-agent-runner', '--config', file, '--log-level', 'silent'], io);
      await eventually(() => exitCode);
      expect(exitCode).toBe(1);
    } finally {
      await gateway.close();
    }
  });
});
