#!/usr/bin/env node
// The `orchestrator` command; built code from dist/ (npm run build).
require('../dist/main.js');
