import { run } from './program';

/**
 * The `orchestrator` command (bin/orchestrator.js loads the built copy of this file). The first
 * Ctrl-C ends what is being followed (events tail, submit --wait, replay --step); a second one
 * exits at once.
 */
const controller = new AbortController();
process.on('SIGINT', () => {
  if (controller.signal.aborted) process.exit(130);
  controller.abort();
});

run(process.argv.slice(2), {
  fetch: globalThis.fetch,
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  stdin: process.stdin,
  signal: controller.signal,
}).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error('orchestrator failed:', err);
    process.exitCode = 1;
  },
);
