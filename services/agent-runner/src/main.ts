#!/usr/bin/env node
import { runCli } from './cli';

runCli(process.argv).catch((err: unknown) => {
  console.error('orch-agent-runner failed:', err);
  process.exit(1);
});
