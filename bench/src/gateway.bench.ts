/**
 * Gateway round trips on the real stack: HTTP -> gateway -> NATS request/reply -> coordination
 * -> PostgreSQL (read model for reads; event store append + relay for writes) and back.
 *
 * The services run as separate processes from their compiled dist/ (as in production), the load
 * generator (autocannon) in this one. The floor is a bare Fastify process answering the same
 * route shape with a constant body of the same size: what HTTP alone costs on this machine.
 *
 * Scenarios (BENCH_SECONDS each, default 10):
 * - floor        bare Fastify, GET, 32 connections, closed loop
 * - read         GET /api/agents/{id}, 32 connections, closed loop (max throughput)
 * - read@1000    GET /api/agents/{id} at a fixed 1,000 req/s, open loop (latency at the DESIGN.md target rate)
 * - write        POST /api/agents, 16 connections, closed loop (command + append + relay per request)
 */
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { Client } from 'pg';
import {
  cpuSeconds,
  databaseUrl,
  freePort,
  natsUrl,
  root,
  startProcess,
  stopAll,
  waitReady,
} from './support/processes';

const seconds = Number(process.env['BENCH_SECONDS'] ?? 10);

interface Scenario {
  readonly name: string;
  readonly requestsPerSecond: number;
  readonly p50: number;
  readonly p90: number;
  readonly p97_5: number;
  readonly p99: number;
  readonly max: number;
  readonly errors: number;
  readonly non2xx: number;
  /** CPU time each measured process spent per request during the scenario (µs). */
  readonly cpuMicrosPerRequest: Record<string, number>;
  /** Responses by HTTP status. */
  readonly statusCodes: Record<string, number>;
  readonly connections: number;
  readonly targetRate?: number;
}

/** Processes whose CPU time each scenario reports, by name. */
const measured = new Map<string, ChildProcess>();

async function load(name: string, options: autocannon.Options, targetRate?: number): Promise<Scenario> {
  const before = new Map([...measured].map(([n, c]) => [n, cpuSeconds(c.pid)]));
  const result = await autocannon({ duration: seconds, ...options });
  const requests = result.requests.total;
  const cpuMicrosPerRequest: Record<string, number> = {};
  for (const [n, c] of measured) {
    const start = before.get(n);
    const end = cpuSeconds(c.pid);
    if (start !== undefined && end !== undefined && requests > 0) {
      cpuMicrosPerRequest[n] = Math.round(((end - start) * 1e6) / requests);
    }
  }
  return {
    cpuMicrosPerRequest,
    name,
    requestsPerSecond: Math.round(result.requests.average),
    p50: result.latency.p50,
    p90: result.latency.p90,
    p97_5: result.latency.p97_5,
    p99: result.latency.p99,
    max: result.latency.max,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    statusCodes: Object.fromEntries(
      Object.entries(result.statusCodeStats ?? {}).map(([code, v]) => [code, v?.count ?? 0]),
    ),
    connections: options.connections ?? 10,
    ...(targetRate ? { targetRate } : {}),
  };
}

const FLOOR_SERVER = `
const fastify = require('fastify')({ logger: false });
const body = JSON.parse(process.env.FLOOR_BODY);
fastify.get('/api/agents/:id', async () => body);
fastify.listen({ port: Number(process.env.FLOOR_PORT), host: '127.0.0.1' });
`;

export async function run(): Promise<void> {
  for (const entry of ['services/coordination/dist/main.js', 'services/gateway/dist/main.js']) {
    if (!existsSync(join(root, entry))) throw new Error(`${entry} is missing: run \`npm run build\` first`);
  }
  const id = randomUUID().slice(0, 8);
  const namespace = `bench_${id}`;
  const schemas = { es: `bench_es_${id}`, coord: `bench_coord_${id}`, gw: `bench_gw_${id}` };
  const adminKey = `orch_bench_${randomUUID().replace(/-/g, '')}`;
  const [gatewayPort, opsPort, floorPort] = [await freePort(), await freePort(), await freePort()];
  const common = {
    DATABASE_URL: databaseUrl,
    NATS_URL: natsUrl,
    ORCH_NAMESPACE: namespace,
    LOG_LEVEL: 'warn',
  };
  const children: ChildProcess[] = [];
  try {
    children.push(
      startProcess('coordination', ['services/coordination/dist/main.js'], {
        ...common,
        EVENTSTORE_SCHEMA: schemas.es,
        COORDINATION_SCHEMA: schemas.coord,
        COORDINATION_OPS_PORT: String(opsPort),
      }),
    );
    await waitReady(`http://127.0.0.1:${opsPort}/health/ready`, children[0]!, 'coordination');
    children.push(
      startProcess('gateway', ['services/gateway/dist/main.js'], {
        ...common,
        GATEWAY_PORT: String(gatewayPort),
        GATEWAY_HOST: '127.0.0.1',
        GATEWAY_DB_SCHEMA: schemas.gw,
        ORCH_ADMIN_KEY: adminKey,
        GATEWAY_RATE_LIMIT_ADMIN: '10000000',
        GATEWAY_OPENAPI_UI: 'false',
      }),
    );
    await waitReady(`http://127.0.0.1:${gatewayPort}/health/ready`, children[1]!, 'gateway');
    measured.set('coordination', children[0]!);
    measured.set('gateway', children[1]!);
    const base = `http://127.0.0.1:${gatewayPort}`;
    const headers = { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' };
    const agent = (i: number) => ({
      name: `bench-${i}`,
      provider: 'openai',
      model: 'gpt-large',
      capabilities: ['code'],
      maxConcurrency: 4,
    });

    // Seed agents for the reads and wait until the read model shows them all.
    const ids: string[] = [];
    for (let i = 0; i < 200; i++) {
      const res = await fetch(`${base}/api/agents`, {
        method: 'POST',
        headers,
        body: JSON.stringify(agent(i)),
      });
      ids.push(((await res.json()) as { id: string }).id);
    }
    for (let tries = 0; ; tries++) {
      const res = await fetch(`${base}/api/agents/${ids[ids.length - 1]}`, { headers });
      if (res.ok) break;
      if (tries > 200) throw new Error('seeded agents never reached the read model');
      await new Promise((r) => setTimeout(r, 50));
    }
    const sample = await (await fetch(`${base}/api/agents/${ids[0]}`, { headers })).text();
    children.push(
      startProcess('floor', ['-e', FLOOR_SERVER], { FLOOR_PORT: String(floorPort), FLOOR_BODY: sample }),
    );
    await waitReady(`http://127.0.0.1:${floorPort}/api/agents/x`, children[2]!, 'floor');
    measured.set('floor', children[2]!);

    let n = 0;
    const readRequest: autocannon.Request = {
      method: 'GET',
      headers,
      setupRequest: (req) => ({ ...req, path: `/api/agents/${ids[n++ % ids.length]}` }),
    };
    const scenarios: Scenario[] = [];
    // Warm up JIT, connection pools and caches before measuring.
    await autocannon({ url: base, duration: 3, connections: 16, requests: [readRequest] });
    scenarios.push(
      await load('floor (bare Fastify GET)', {
        url: `http://127.0.0.1:${floorPort}`,
        connections: 32,
        requests: [readRequest],
      }),
    );
    scenarios.push(
      await load('read  GET /api/agents/{id}', { url: base, connections: 32, requests: [readRequest] }),
    );
    scenarios.push(
      await load(
        'read  GET /api/agents/{id} @1000/s',
        { url: base, connections: 32, overallRate: 1000, requests: [readRequest] },
        1000,
      ),
    );
    let w = 1000;
    // One write as the load will send it, so a broken scenario is reported instead of measured.
    const probe = await fetch(`${base}/api/agents`, {
      method: 'POST',
      headers,
      body: JSON.stringify(agent(w++)),
    });
    if (probe.status !== 201)
      throw new Error(`POST /api/agents answered ${probe.status}: ${await probe.text()}`);
    scenarios.push(
      await load('write POST /api/agents', {
        url: base,
        connections: 16,
        requests: [
          {
            method: 'POST',
            path: '/api/agents',
            headers,
            setupRequest: (req) => ({ ...req, body: JSON.stringify(agent(w++)) }),
          },
        ],
      }),
    );

    const floor = scenarios[0]!.requestsPerSecond;
    console.table(
      scenarios.map((s) => ({
        scenario: s.name,
        'req/s': s.requestsPerSecond,
        'vs floor': `${((s.requestsPerSecond / floor) * 100).toFixed(1)}%`,
        'p50 ms': s.p50,
        'p90 ms': s.p90,
        'p97.5 ms': s.p97_5,
        'p99 ms': s.p99,
        'gateway CPU µs/req': s.cpuMicrosPerRequest['gateway'] ?? '',
        'coordination CPU µs/req': s.cpuMicrosPerRequest['coordination'] ?? '',
        'floor CPU µs/req': s.cpuMicrosPerRequest['floor'] ?? '',
        errors: s.errors + s.non2xx,
      })),
    );
    const out = join(root, 'bench', 'results');
    mkdirSync(out, { recursive: true });
    const file = join(out, `gateway-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
    writeFileSync(
      file,
      JSON.stringify(
        {
          bench: 'gateway',
          at: new Date().toISOString(),
          machine: { cpus: cpus().length, memoryGiB: Math.round(totalmem() / 2 ** 30) },
          seconds,
          scenarios,
        },
        null,
        2,
      ),
    );
    console.log(`results written to ${file}`);
  } finally {
    await stopAll(children);
    const pg = new Client({ connectionString: databaseUrl });
    await pg.connect();
    for (const schema of Object.values(schemas)) await pg.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await pg.end();
    const nc = await connect({ servers: natsUrl });
    const jsm = await jetstreamManager(nc);
    for (const stream of [`${namespace.toUpperCase()}_EVENTS`, `${namespace.toUpperCase()}_DLQ`])
      await jsm.streams.delete(stream).catch(() => undefined);
    await nc.close();
  }
}
