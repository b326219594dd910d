import { stopOnSignal } from '@orch/observability';
import { startDistribution } from './app';
import { loadConfig } from './config';

async function main(): Promise<void> {
  const service = await startDistribution(loadConfig());
  stopOnSignal({ service: 'distribution', logger: service.logger, close: () => service.close() });
}

main().catch((err: unknown) => {
  console.error('distribution failed to start:', err);
  process.exit(1);
});
