import { stopOnSignal } from '@orch/observability';
import { startAnalytics } from './app';
import { loadConfig } from './config';

async function main(): Promise<void> {
  const service = await startAnalytics(loadConfig());
  stopOnSignal({ service: 'analytics', logger: service.logger, close: () => service.close() });
}

main().catch((err: unknown) => {
  console.error('analytics failed to start:', err);
  process.exit(1);
});
