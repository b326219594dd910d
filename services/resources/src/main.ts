import { stopOnSignal } from '@orch/observability';
import { startResources } from './app';
import { loadConfig } from './config';

async function main(): Promise<void> {
  const service = await startResources(loadConfig());
  stopOnSignal({ service: 'resources', logger: service.logger, close: () => service.close() });
}

main().catch((err: unknown) => {
  console.error('resources failed to start:', err);
  process.exit(1);
});
