import { afterAll, beforeAll } from '@jest/globals';
import { Pool } from 'pg';
import { PostgresEventStore, migrate } from '..';
import { eventStoreContractSuite } from '../testing';
import { testDatabaseUrl, uniqueName } from '@orch/testing';

const schema = uniqueName('es_contract');
const pool = new Pool({ connectionString: testDatabaseUrl(), max: 8 });

beforeAll(async () => {
  await migrate(pool, schema);
});

afterAll(async () => {
  await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await pool.end();
});

// Two stores per run (different sources) over one schema, each with its own pool, as two services would.
eventStoreContractSuite('PostgresEventStore', async ({ source, upcasters }) => {
  const store = await PostgresEventStore.create({
    connectionString: testDatabaseUrl(),
    poolSize: 4,
    schema,
    source,
    upcasters,
    pollIntervalMs: 200,
  });
  return { store, teardown: () => store.close() };
});
