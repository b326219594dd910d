export { quoteIdentifier, runMigrations, type RunMigrationsOptions, type SqlMigration } from './migrations';
export { waitForPostgres, type WaitForPostgresOptions } from './wait-for-postgres';
