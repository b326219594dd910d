import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import path from 'node:path';
import { connect } from '@nats-io/transport-node';
import { naming } from '@orch/messaging';
import { deleteStreams } from '@orch/messaging/testing';
import { eventually, testDatabaseUrl, testNatsUrl, uniqueName } from '@orch/testing';
import { Client, escapeIdentifier } from 'pg';
import { generateApiKey } from './keys/api-key';

const ROOT = path.resolve(__dirname, '../../..');
const MAIN = path.join(__dirname, 'main.ts');

/** Runs main.ts as the deployment does: plain Node (ESM packages required natively), env config. */
function startMain(env: Record<string, string>): { child: ChildProcess; output: () => string } {
  let output = '';
  const child = spawn(process.execPath, ['--conditions=@orch/source', '-r', '@swc-node/register', MAIN], {
    cwd: ROOT,
    env: { PATH: process.env['PATH'] ?? '', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  return { child, output: () => output };
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  await once(server, 'close');
  if (!address || typeof address === 'string') throw new Error('no port');
  return address.port;
}

describe('main.ts (the gateway process)', () => {
  const running: ChildProcess[] = [];

  afterAll(() => {
    for (const child of running) if (child.exitCode === null) child.kill('SIGKILL');
  });

  it('fails fast with a message naming every missing variable', async () => {
    const { child, output } = startMain({ GATEWAY_PORT: 'eighty' });
    running.push(child);
    const [code] = (await once(child, 'exit')) as [number];
    expect(code).toBe(1);
    expect(output()).toContain('invalid gateway configuration');
    expect(output()).toContain('DATABASE_URL: is required');
    expect(output()).toContain('NATS_URL: is required');
    expect(output()).toContain('GATEWAY_PORT: must be an integer');
  });

  describe('with a valid environment', () => {
    const schema = uniqueName('gateway_main');
    const namespace = uniqueName('gwmain');
    const adminKey = generateApiKey();
    let base: string;
    let proc: { child: ChildProcess; output: () => string };

    beforeAll(async () => {
      const port = await freePort();
      base = `http://127.0.0.1:${port}`;
      proc = startMain({
        DATABASE_URL: testDatabaseUrl(),
        NATS_URL: testNatsUrl(),
        GATEWAY_PORT: String(port),
        GATEWAY_HOST: '127.0.0.1',
        GATEWAY_DB_SCHEMA: schema,
        ORCH_NAMESPACE: namespace,
        ORCH_ADMIN_KEY: adminKey,
      });
      running.push(proc.child);
      await eventually(
        async () => {
          if (proc.child.exitCode !== null) throw new Error(`gateway exited: ${proc.output()}`);
          const res = await fetch(`${base}/health/ready`).catch(() => undefined);
          return res?.status === 200 ? true : undefined;
        },
        { timeoutMs: 25_000, intervalMs: 100, what: 'the gateway to be ready' },
      );
    }, 30_000);

    afterAll(async () => {
      if (proc.child.exitCode === null) proc.child.kill('SIGKILL');
      const nc = await connect({ servers: testNatsUrl() });
      await deleteStreams(nc, naming(namespace));
      await nc.close();
      const pg = new Client({ connectionString: testDatabaseUrl() });
      await pg.connect();
      await pg.query(`DROP SCHEMA IF EXISTS ${escapeIdentifier(schema)} CASCADE`);
      await pg.end();
    });

    it('serves the Swagger UI and its assets at /api/docs', async () => {
      const page = await fetch(`${base}/api/docs`);
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toMatch(/^text\/html/);
      expect(await page.text()).toContain('swagger-ui');
      const bundle = await fetch(`${base}/api/docs/swagger-ui-bundle.js`);
      expect(bundle.status).toBe(200);
      await bundle.body?.cancel();
      const json = await fetch(`${base}/api/docs-json`);
      expect(((await json.json()) as { openapi: string }).openapi).toMatch(/^3\./);
    });

    it('accepts the bootstrap admin key from ORCH_ADMIN_KEY', async () => {
      const res = await fetch(`${base}/api/keys`, {
        method: 'POST',
        headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ role: 'viewer', name: 'from main' }),
      });
      expect(res.status).toBe(201);
    });

    it('stops cleanly on SIGTERM', async () => {
      proc.child.kill('SIGTERM');
      const exited = once(proc.child, 'exit') as Promise<[number]>;
      const [code] = await Promise.race([
        exited,
        new Promise<never>((_, reject) =>
          setTimeout(
            () => reject(new Error(`no exit 25 s after SIGTERM; output:\n${proc.output()}`)),
            25_000,
          ).unref(),
        ),
      ]);
      expect(code).toBe(0);
      expect(proc.output()).toContain('gateway stopped');
    }, 35_000);
  });
});
