/**
 * How fast the analytics projection folds events on one core, and what a checkpoint costs.
 *
 *   SWC_NODE_PROJECT=libs/analytics/scripts/tsconfig.json \
 *     node --conditions=@orch/source -r @swc-node/register libs/analytics/scripts/fold-throughput.ts [sessions]
 *
 * (The tsconfig there compiles class fields as the services' build does, `useDefineForClassFields:
 * false`.) Generates a seeded, realistic history - generateWorkload: 30 tasks per session, retries,
 * reassignments, claim waits, resources events, agent health changes - already parsed, as a service
 * holds events read from the store; then folds it from zero five times and prints each run's
 * events per second by wall time and by the process's CPU time (the fold is single-threaded; CPU
 * time also counts V8's helper threads, so it understates the rate, but it is not inflated by other
 * processes on a busy machine), then the snapshot's size and the time to take and restore it.
 */
import { generateWorkload } from '../src/analytics.fixtures';
import { evolve, initialAnalyticsState, restore, snapshot } from '../src';

const sessions = Number(process.argv[2] ?? 5_000);
const say = (line: string): void => void process.stdout.write(`${line}\n`);
const rate = (n: number, ms: number): string => `${Math.round(n / (ms / 1_000)).toLocaleString('en')}/s`;

const events = generateWorkload({
  seed: 42,
  sessions,
  tasksPerSession: 30,
  agents: 200,
  providers: 5,
  pools: 10,
  sessionGapMs: 2_000,
});
say(`events: ${events.length.toLocaleString('en')} (${sessions} sessions x 30 tasks)`);

const wall: number[] = [];
const cpu: number[] = [];
let state = initialAnalyticsState();
for (let run = 0; run < 5; run++) {
  state = initialAnalyticsState();
  const start = process.hrtime.bigint();
  const cpuStart = process.cpuUsage();
  for (const e of events) evolve(state, e);
  const used = process.cpuUsage(cpuStart);
  wall.push(Number(process.hrtime.bigint() - start) / 1e6);
  cpu.push((used.user + used.system) / 1_000);
  say(
    `run ${run + 1}: wall ${wall[run]!.toFixed(0)} ms (${rate(events.length, wall[run]!)}), cpu ${cpu[run]!.toFixed(0)} ms (${rate(events.length, cpu[run]!)})`,
  );
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
say(
  `median: ${rate(events.length, median(wall))} by wall time, ${rate(events.length, median(cpu))} by CPU time`,
);

let t = process.hrtime.bigint();
const json = JSON.stringify(snapshot(state));
const snapMs = Number(process.hrtime.bigint() - t) / 1e6;
t = process.hrtime.bigint();
JSON.stringify(snapshot(state));
const againMs = Number(process.hrtime.bigint() - t) / 1e6;
t = process.hrtime.bigint();
restore(JSON.parse(json));
const restoreMs = Number(process.hrtime.bigint() - t) / 1e6;
say(
  `snapshot: ${(json.length / 1024).toFixed(0)} KiB, taken in ${snapMs.toFixed(0)} ms ` +
    `(${againMs.toFixed(0)} ms the next time: unchanged histograms are not encoded again), ` +
    `restored in ${restoreMs.toFixed(0)} ms`,
);
say(`open tasks tracked at the end: ${state.tasks.size}; sessions kept: ${state.sessions.size}`);
say(`heap used: ${(process.memoryUsage().heapUsed / 2 ** 20).toFixed(0)} MiB`);
