import { DataSource } from 'typeorm';
import { AgentRow } from '../agents/agent.entity';
import { coordinationMigrations } from './migrations';

/** Lock key shared by every replica while it migrates the service's schema. */
const MIGRATION_LOCK = 0x636f6f72; // "coor"

/**
 * Opens the coordination read-model DataSource on `schema`, creating the schema and running
 * pending migrations under an advisory lock, so replicas starting together migrate once.
 */
export async function openCoordinationDataSource(url: string, schema: string): Promise<DataSource> {
  const dataSource = new DataSource({
    type: 'postgres',
    url,
    schema,
    entities: [AgentRow],
    migrations: coordinationMigrations,
    migrationsTableName: 'typeorm_migrations',
    migrationsRun: false,
    synchronize: false,
    logging: false,
    extra: { max: 10 },
  });
  await dataSource.initialize();
  const runner = dataSource.createQueryRunner();
  try {
    await runner.connect();
    await runner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    await runner.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
    await dataSource.runMigrations({ transaction: 'each' });
  } finally {
    await runner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
    await runner.release();
  }
  return dataSource;
}
