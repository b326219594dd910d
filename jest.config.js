// One Jest config for the whole workspace. Tiers are told apart by file suffix:
//   *.unit.spec.ts  pure code, no I/O
//   *.int.spec.ts   real PostgreSQL and NATS JetStream (see README)
//   *.e2e.spec.ts   whole services wired together over real infrastructure
// Workspace libraries resolve to their TypeScript sources through the "@orch/source"
// export condition, so tests never need a build first.
const fs = require('node:fs');
const path = require('node:path');

const swcConfig = JSON.parse(fs.readFileSync(path.join(__dirname, '.swcrc'), 'utf8'));
delete swcConfig.$schema;

// Dependencies published as ES modules only. Node 20 can require() them natively, but
// Jest's module loader cannot before Node 24.9, so Jest compiles them to CommonJS too.
const esmOnly = [
  '@nestjs',
  'cookie',
  'zod',
  'commander',
  'uuid',
  'es-toolkit',
  'path-to-regexp',
  'file-type',
  'strtok3',
  'token-types',
  '@tokenizer',
  'uint8array-extras',
];

module.exports = {
  testEnvironment: 'node',
  testEnvironmentOptions: { customExportConditions: ['@orch/source', 'node', 'require', 'default'] },
  roots: [
    '<rootDir>/libs',
    '<rootDir>/services',
    '<rootDir>/bench',
    '<rootDir>/examples',
    '<rootDir>/infra',
    '<rootDir>/tests',
  ],
  testMatch: ['**/*.spec.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  transform: { '^.+\\.(t|j|mj|cj)s$': ['@swc/jest', { ...swcConfig, swcrc: false }] },
  transformIgnorePatterns: [`/node_modules/(?!(${esmOnly.join('|')})/)`],
  moduleFileExtensions: ['ts', 'js', 'mjs', 'cjs', 'json'],
  setupFiles: ['reflect-metadata'],
  maxWorkers: 2,
  testTimeout: 30000,
  reporters: ['default', '<rootDir>/tools/jest-summary-reporter.js'],
};
