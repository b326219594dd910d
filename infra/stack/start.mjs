#!/usr/bin/env node
// `npm start`: brings up the whole stack on this machine and shows it working.
//   1. NATS (JetStream) and PostgreSQL: used when they answer, started otherwise (infrastructure.mjs)
//   2. builds the workspace (swc, cached by Nx)
//   3. starts every service (each applies its own migrations at start-up) and waits until ready
//   4. prints the URLs and the dev admin key, runs a short demo through the HTTP API
//   5. keeps running until Ctrl-C, then stops everything it started
// Flags: --smoke (exit after the demo, non-zero on failure), --no-demo, --no-build, --logs (stream service logs).
// ORCH_NODE_ARGS adds Node.js flags to every service (profiling: "--cpu-prof --cpu-prof-dir=DIR").
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureNats, ensurePostgres } from './infrastructure.mjs';
import { defaultPorts, services } from './services.mjs';
import { runDemo } from './demo.mjs';

const root = new URL('../..', import.meta.url).pathname;
const args = new Set(process.argv.slice(2));
const smoke = args.has('--smoke');
const stateDir = join(root, '.orch');
mkdirSync(join(stateDir, 'logs'), { recursive: true });

const color = process.stdout.isTTY ? (c, s) => `\x1b[${c}m${s}\x1b[0m` : (_c, s) => s;
const log = (msg) => console.log(`${color('36', '[stack]')} ${msg}`);

function adminKey() {
  if (process.env.ORCH_ADMIN_KEY) return process.env.ORCH_ADMIN_KEY;
  const file = join(stateDir, 'admin-key');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const key = `orch_dev_${randomBytes(24).toString('base64url')}`;
  writeFileSync(file, key + '\n', { mode: 0o600 });
  return key;
}

const env = {
  ...process.env,
  ...Object.fromEntries(Object.entries(defaultPorts).map(([k, v]) => [k, process.env[k] ?? v])),
  NATS_URL: process.env.NATS_URL ?? 'nats://127.0.0.1:4222',
  DATABASE_URL: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/orchestrator',
  ORCH_ADMIN_KEY: adminKey(),
  LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
};

const stops = [];
const children = [];
let stopping = false;

async function shutdown(code) {
  if (stopping) return;
  stopping = true;
  log('stopping ...');
  for (const child of children.reverse()) {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await Promise.race([
        new Promise((r) => child.once('exit', r)),
        new Promise((r) => setTimeout(r, 10_000)),
      ]);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }
  for (const stop of stops.reverse()) await stop().catch((e) => log(`stop failed: ${e.message}`));
  log('stopped');
  process.exit(code);
}
process.on('SIGINT', () => void shutdown(0));
process.on('SIGTERM', () => void shutdown(0));
process.on('SIGHUP', () => void shutdown(0));
// A closed terminal or pipe (`npm start | head`) must not orphan the services.
process.stdout.on('error', () => void shutdown(1));
process.on('uncaughtException', (e) => {
  console.error(e);
  void shutdown(1);
});

async function waitReady(name, url, child, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    if (child.exitCode !== null)
      throw new Error(`${name} exited with code ${child.exitCode}; see .orch/logs/${name}.log`);
    try {
      const res = await fetch(url);
      if (res.ok) return;
      last = await res.text();
    } catch (e) {
      last = e.message;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${name} not ready after ${timeoutMs / 1000} s (${last}); see .orch/logs/${name}.log`);
}

function startService(svc) {
  const file = join(stateDir, 'logs', `${svc.name}.log`);
  const out = openSync(file, 'a');
  // Extra Node.js flags for every service, e.g. ORCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof".
  const nodeArgs = (process.env.ORCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(
    process.execPath,
    ['--enable-source-maps', ...nodeArgs, join(root, svc.entry), ...(svc.args ?? [])],
    {
      cwd: root,
      env: { ...env, ...(svc.env ? svc.env(env) : {}), OTEL_SERVICE_NAME: svc.name },
      stdio: ['ignore', args.has('--logs') ? 'inherit' : out, args.has('--logs') ? 'inherit' : out],
    },
  );
  children.push(child);
  child.once('exit', (code, signal) => {
    if (!stopping) {
      log(color('31', `${svc.name} exited (${signal ?? code}); see .orch/logs/${svc.name}.log`));
      void shutdown(1);
    }
  });
  return child;
}

try {
  stops.push(await ensureNats(env.NATS_URL, stateDir, log));
  stops.push(await ensurePostgres(env.DATABASE_URL, stateDir, log));
  if (!args.has('--no-build')) {
    log('building the workspace (npm run build) ...');
    const build = spawnSync('npm', ['run', 'build', '--silent'], {
      cwd: root,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    if (build.status !== 0) throw new Error('build failed');
  }
  for (const svc of services) {
    log(`starting ${svc.name} (logs: .orch/logs/${svc.name}.log)`);
    const child = startService(svc);
    if (svc.ready) {
      await waitReady(svc.name, svc.ready(env), child);
      log(`${svc.name} is ready`);
    }
  }
  const base = `http://127.0.0.1:${env.GATEWAY_PORT}`;
  console.log(`
${color('1', 'The orchestrator is running.')}
  API            ${base}/api
  OpenAPI        ${base}/api/docs
  live events    curl -N -H "Authorization: Bearer $ORCH_ADMIN_KEY" ${base}/api/events/stream
  health         ${base}/health/ready   (coordination :${env.COORDINATION_OPS_PORT}, distribution :${env.DISTRIBUTION_OPS_PORT}, resources :${env.RESOURCES_OPS_PORT}, conflicts :${env.CONFLICTS_OPS_PORT}, analytics :${env.ANALYTICS_OPS_PORT} /health/ready)
  metrics        ${base}/metrics        (same ports, /metrics)
  admin key      ${env.ORCH_ADMIN_KEY}
                 (dev key, kept in .orch/admin-key; set ORCH_ADMIN_KEY to choose your own)
`);
  if (!args.has('--no-demo')) await runDemo({ base, adminKey: env.ORCH_ADMIN_KEY, log });
  if (smoke) {
    log('smoke run passed');
    await shutdown(0);
  }
  log('press Ctrl-C to stop');
} catch (e) {
  log(color('31', `failed: ${e.message}`));
  await shutdown(1);
}
