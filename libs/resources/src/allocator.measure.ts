/**
 * How many allocation decisions per second the allocator decider makes under heavy contention:
 * 10,000 tasks over 100 pools and 1,000 locks. Not a test (no timing assertions anywhere): run it by
 * hand and read the numbers.
 *
 *   node --conditions=@orch/source -r @swc-node/register libs/resources/src/allocator.measure.ts
 *
 * Each task claims one or two pools (1-2 units of 4-slot concurrency pools) and one or two of the
 * 1,000 locks (a fifth of them shared, a few with a glob over a directory), with a random priority.
 * A decision is one command decided and its events folded into the state, as the service does.
 *
 * - backlog (default): all 10,000 ask first (almost all wait), then the oldest holder is released
 *   until every task ran, each release granting the waiters that now fit;
 * - stream (MODE=stream): tasks keep arriving while the oldest holders finish, so that about
 *   BACKLOG (default 1,000) tasks wait at any time.
 */
import { allocatorDecider } from './allocator/allocator.decider';
import type { AllocatorCommand } from './allocator/allocator.commands';
import { auditAllocator } from './allocator/queries';
import type { ClaimInput } from './claims';

const TASKS = Number(process.env['TASKS'] ?? 10_000);
const MODE = process.env['MODE'] === 'stream' ? 'stream' : 'backlog';
const BACKLOG = Number(process.env['BACKLOG'] ?? 1_000);
const POOLS = 100;
const LOCKS = 1_000;
const REPOS = 20;

/** mulberry32: a small deterministic PRNG, so every run measures the same workload. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const random = prng(42);
const pick = (n: number): number => Math.floor(random() * n);

const lockName = (k: number): string => {
  const repo = k % REPOS;
  const file = Math.floor(k / REPOS);
  // One lock in 50 covers a directory with a glob.
  return k % 50 === 0 ? `repo:r${repo}:src/d${file % 5}/**` : `repo:r${repo}:src/d${file % 5}/f${file}.ts`;
};

function claimsOf(): ClaimInput[] {
  const claims: ClaimInput[] = [];
  const pools = new Set<number>();
  const n = 1 + pick(2);
  while (pools.size < n) pools.add(pick(POOLS));
  for (const p of pools) claims.push({ pool: `p${p}`, amount: 1 + pick(2) });
  const locks = new Set<string>();
  const m = 1 + pick(2);
  while (locks.size < m) locks.add(lockName(pick(LOCKS)));
  for (const name of locks) claims.push({ lock: name, mode: random() < 0.2 ? 'shared' : 'exclusive' });
  return claims;
}

const decider = allocatorDecider();
let state = decider.initialState();
let clock = Date.parse('2026-11-21T10:00:00Z');
const durations: number[] = [];
let events = 0;
const granted: string[] = [];

function run(command: AllocatorCommand): void {
  const started = process.hrtime.bigint();
  const out = decider.decide(command, state);
  for (const e of out) state = decider.evolve(state, e);
  durations.push(Number(process.hrtime.bigint() - started) / 1e6);
  events += out.length;
  for (const e of out) if (e.type === 'ResourcesAllocated') granted.push(e.data.taskId);
}

for (let p = 0; p < POOLS; p++)
  run({
    type: 'DefinePool',
    poolId: `p${p}`,
    kind: 'concurrency',
    capacity: 4,
    defaultAmount: 0,
    at: new Date(clock),
  });
durations.length = 0;
events = 0;

const started = performance.now();
const cpuStarted = process.cpuUsage();
let next = 0;
const release = (): void => {
  clock += 1;
  run({
    type: 'Release',
    taskId: granted[next++]!,
    attempt: 1,
    reason: 'TaskSucceeded',
    at: new Date(clock),
  });
};
let waitingAfterAsks = 0;
let maxWaiting = 0;
for (let i = 0; i < TASKS; i++) {
  clock += 1;
  run({
    type: 'Allocate',
    taskId: `t${i}`,
    attempt: 1,
    sessionId: `s${i % 50}`,
    priority: pick(4),
    claims: claimsOf(),
    incremental: false,
    at: new Date(clock),
  });
  if (MODE === 'stream') while (state.waiters.size > BACKLOG && next < granted.length) release();
  maxWaiting = Math.max(maxWaiting, state.waiters.size);
}
const allocated = performance.now();
const releasesBefore = next;
waitingAfterAsks = state.waiters.size;
while (next < granted.length) release();
const finished = performance.now();
const cpu = process.cpuUsage(cpuStarted);
const cpuSeconds = (cpu.user + cpu.system) / 1e6;

const sorted = [...durations].sort((a, b) => a - b);
const quantile = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
const seconds = (finished - started) / 1000;
const problems = auditAllocator(state);
const lines = [
  `mode ${MODE}${MODE === 'stream' ? ` (about ${BACKLOG} waiting)` : ''}: tasks ${TASKS}, pools ${POOLS}, locks ${LOCKS}`,
  `waiting at most: ${maxWaiting}; after every task asked: ${waitingAfterAsks}`,
  `decisions: ${durations.length} (${TASKS} allocations, ${durations.length - TASKS} releases), events: ${events}`,
  `tasks granted: ${granted.length}; still waiting at the end: ${state.waiters.size}`,
  `asking phase: ${Math.round((TASKS + releasesBefore) / ((allocated - started) / 1000))} decisions/s`,
  `draining phase: ${Math.round((durations.length - TASKS - releasesBefore) / ((finished - allocated) / 1000))} decisions/s`,
  `overall: ${Math.round(durations.length / seconds)} decisions/s, ${Math.round(events / seconds)} events/s ` +
    `(${Math.round(durations.length / cpuSeconds)} decisions per CPU second)`,
  `latency ms: p50 ${quantile(0.5).toFixed(3)}, p99 ${quantile(0.99).toFixed(3)}, max ${quantile(1).toFixed(3)}`,
  `indexes agree with a recomputation: ${problems.length === 0 ? 'yes' : problems.slice(0, 3).join('; ')}`,
];
process.stdout.write(`${lines.join('\n')}\n`);
