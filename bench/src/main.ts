/**
 * Benchmark runner: `npm run bench -- <name> [<name>...]` (or `all`). Each bench measures against
 * real infrastructure, prints a table and writes its JSON to bench/results/. Benches register here
 * by name; each module exports `run(): Promise<void>`.
 */

interface Bench {
  run(): Promise<void>;
}

/**
 * Benches are loaded only when asked for (require, since this runs as CommonJS), so one bench's
 * dependencies or start-up never stop another from running.
 */
const benches: Record<string, { readonly description: string; load(): Bench }> = {
  eventstore: {
    description:
      'PostgreSQL event store: appends, group commit, readAll, fold, beside raw INSERT/SELECT floors',
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    load: () => require('./eventstore.bench') as Bench,
  },
  orchestration: {
    description:
      'Sessions end to end with 1,000 sim agents over HTTP: tasks/s, ready->assigned latency, memory, beside the raw floor',
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    load: () => require('./orchestration.bench') as Bench,
  },
  gateway: {
    description:
      'HTTP -> gateway -> NATS -> coordination -> PostgreSQL round trips (reads, writes, reads at 1,000/s) beside bare Fastify',
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    load: () => require('./gateway.bench') as Bench,
  },
  resources: {
    description:
      'The allocator under contention (10,000 tasks, 100 pools, 1,000 locks over NATS): decisions/s, Allocate latency, queue wait, invariants, beside the raw floor',
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    load: () => require('./resources.bench') as Bench,
  },
  replay: {
    description:
      'Replay of a 100,000-event session (fold rate, ReplaySession/VerifySession over NATS) and the analytics rebuild, beside the raw read floor',
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    load: () => require('./replay.bench') as Bench,
  },
};

async function main(): Promise<void> {
  const requested = process.argv.slice(2);
  const names = requested.includes('all') ? Object.keys(benches) : requested;
  const unknown = names.filter((n) => !(n in benches));
  if (names.length === 0 || unknown.length > 0) {
    if (unknown.length > 0) console.error(`unknown bench: ${unknown.join(', ')}`);
    console.error('usage: npm run bench -- <name>... | all');
    for (const [name, bench] of Object.entries(benches))
      console.error(`  ${name.padEnd(12)} ${bench.description}`);
    process.exitCode = 2;
    return;
  }
  for (const name of names) {
    console.log(`\n== ${name} ==`);
    await benches[name]!.load().run();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
