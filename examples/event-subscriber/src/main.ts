import { Command, InvalidArgumentError } from 'commander';
import { run } from './subscriber';

const integer = (value: string): number => {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError('expected a non-negative integer');
  return n;
};

const program = new Command()
  .name('event-subscriber')
  .description(
    'Print orchestrator events from JetStream; a restart resumes where the durable consumer stopped.',
  )
  .option('--nats <url>', 'NATS server URL', process.env['NATS_URL'] ?? 'nats://127.0.0.1:4222')
  .option('--namespace <ns>', 'messaging namespace of the installation', process.env['ORCH_NAMESPACE'] ?? '')
  .option('--durable <name>', 'durable consumer name (same name = resume)', 'event-subscriber')
  .option('--subject <subject...>', 'subjects to follow, without namespace', ['events.coordination.>'])
  .option('--from-sequence <n>', 'new durable only: start at this JetStream stream sequence', integer)
  .option('--from-time <iso>', 'new durable only: start at events stored at or after this time')
  .option('--from-position <n>', 'skip events whose Orch-Global-Position is below n', integer)
  .option('--max-events <n>', 'exit after printing n events', integer);

async function main(): Promise<void> {
  program.parse();
  const o = program.opts<{
    nats: string;
    namespace: string;
    durable: string;
    subject: string[];
    fromSequence?: number;
    fromTime?: string;
    fromPosition?: number;
    maxEvents?: number;
  }>();
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort());
  process.once('SIGTERM', () => controller.abort());
  await run({
    natsUrl: o.nats,
    namespace: o.namespace,
    durable: o.durable,
    subjects: o.subject,
    signal: controller.signal,
    ...(o.fromSequence !== undefined ? { fromSequence: o.fromSequence } : {}),
    ...(o.fromTime !== undefined ? { fromTime: o.fromTime } : {}),
    ...(o.fromPosition !== undefined ? { fromPosition: BigInt(o.fromPosition) } : {}),
    ...(o.maxEvents !== undefined ? { maxEvents: o.maxEvents } : {}),
  });
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
