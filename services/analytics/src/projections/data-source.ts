import { DataSource } from 'typeorm';
import { ProjectionCheckpoint } from './checkpoint.entity';
import { analyticsMigrations } from './migrations';

/** Lock key shared by every replica while it migrates the service's schema. */
const MIGRATION_LOCK = 0x616e6c79; // "anly"

/**
 * Opens the analytics read-model DataSource on `schema`, creating the schema and running pending
 * migrations under an advisory lock, so replicas starting together migrate once.
 */
export async function openAnalyticsDataSource(url: string, schema: string): Promise<DataSource> {
  const dataSource = new DataSource({
    type: 'postgres',
    url,
    schema,
    entities: [ProjectionCheckpoint],
    migrations: analyticsMigrations,
    migrationsTableName: 'typeorm_migrations',
    migrationsRun: false,
    synchronize: false,
    logging: false,
    extra: { max: 4, application_name: 'orch-analytics' },
  });
  await dataSource.initialize();
  try {
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
  } catch (err) {
    await dataSource.destroy().catch(() => undefined);
    throw err;
  }
  return dataSource;
}
