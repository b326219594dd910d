import { stopOnSignal } from '@orch/observability';
import { startCoordination } from './app';
import { loadConfig } from './config';

async function main(): Promise<void> {
  const service = await startCoordination(loadConfig());
  stopOnSignal({ service: 'coordination', logger: service.logger, close: () => service.close() });
}

main().catch((err: unknown) => {
  console.error('coordination failed to start:', err);
  process.exit(1);
});
