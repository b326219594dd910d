import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The schema the DataSource was configured with (tests use a unique one per run). */
const schemaOf = (q: QueryRunner): string => {
  const schema = (q.connection.options as { schema?: string }).schema;
  if (!schema) throw new Error('the analytics DataSource needs an explicit schema');
  return schema;
};

export class CreateProjectionCheckpoint1766000000000 implements MigrationInterface {
  name = 'CreateProjectionCheckpoint1766000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE "${schemaOf(q)}"."projection_checkpoint" (
        "name" text PRIMARY KEY,
        "position" bigint NOT NULL CHECK ("position" >= 0),
        "snapshot" jsonb NOT NULL,
        "updated_at" timestamptz NOT NULL
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "${schemaOf(q)}"."projection_checkpoint"`);
  }
}

export const analyticsMigrations = [CreateProjectionCheckpoint1766000000000];
