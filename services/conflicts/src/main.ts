import { stopOnSignal } from '@orch/observability';
import { startConflicts } from './app';
import { loadConfig } from './config';

async function main(): Promise<void> {
  const service = await startConflicts(loadConfig());
  stopOnSignal({ service: 'conflicts', logger: service.logger, close: () => service.close() });
}

main().catch((err: unknown) => {
  console.error('conflicts failed to start:', err);
  process.exit(1);
});
