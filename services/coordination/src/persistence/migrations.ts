import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The schema the DataSource was configured with (tests use a unique one per run). */
const schemaOf = (q: QueryRunner): string => {
  const schema = (q.connection.options as { schema?: string }).schema;
  if (!schema) throw new Error('the coordination DataSource needs an explicit schema');
  return schema;
};

export class CreateAgents1763700000000 implements MigrationInterface {
  name = 'CreateAgents1763700000000';

  async up(q: QueryRunner): Promise<void> {
    const s = schemaOf(q);
    await q.query(`
      CREATE TABLE "${s}"."agents" (
        "id" text PRIMARY KEY,
        "name" text NOT NULL,
        "provider" text NOT NULL,
        "model" text NOT NULL,
        "status" text NOT NULL,
        "active_tasks" int NOT NULL DEFAULT 0,
        "capabilities" jsonb NOT NULL,
        "circuit" text NOT NULL,
        "max_concurrency" int NOT NULL,
        "cost_per_1k_input" double precision NOT NULL,
        "cost_per_1k_output" double precision NOT NULL,
        "labels" jsonb NOT NULL,
        "agent_type" text NOT NULL,
        "registered_at" timestamptz NOT NULL,
        "registered_position" bigint NOT NULL,
        "version" int NOT NULL
      )`);
    await q.query(
      `CREATE UNIQUE INDEX "agents_registered_position" ON "${s}"."agents" ("registered_position")`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "${schemaOf(q)}"."agents"`);
  }
}

/** Slots and health of agents (the orchestration core). */
export class AgentSlots1764000000000 implements MigrationInterface {
  name = 'AgentSlots1764000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE "${schemaOf(q)}"."agents"
        ADD COLUMN "active_task_ids" jsonb NOT NULL DEFAULT '[]',
        ADD COLUMN "health" text NOT NULL DEFAULT 'healthy',
        ADD COLUMN "draining" boolean NOT NULL DEFAULT false`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE "${schemaOf(q)}"."agents"
        DROP COLUMN "active_task_ids", DROP COLUMN "health", DROP COLUMN "draining"`);
  }
}

/**
 * Slots per attempt of a task (libs/coordination task-slots.ts). The slots held so far were taken
 * without an attempt: they become slots of attempt 0, as their events read. `active_task_ids` stays,
 * written from the slots, for replicas of the previous version during a rolling upgrade.
 */
export class AgentSlotAttempts1765000000000 implements MigrationInterface {
  name = 'AgentSlotAttempts1765000000000';

  async up(q: QueryRunner): Promise<void> {
    const s = schemaOf(q);
    await q.query(`ALTER TABLE "${s}"."agents" ADD COLUMN "active_slots" jsonb NOT NULL DEFAULT '[]'`);
    await q.query(`
      UPDATE "${s}"."agents"
         SET "active_slots" = (
           SELECT coalesce(jsonb_agg(jsonb_build_object('taskId', t.id, 'attempt', 0) ORDER BY t.n), '[]')
             FROM jsonb_array_elements_text("active_task_ids") WITH ORDINALITY AS t(id, n))`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "${schemaOf(q)}"."agents" DROP COLUMN "active_slots"`);
  }
}

export const coordinationMigrations = [
  CreateAgents1763700000000,
  AgentSlots1764000000000,
  AgentSlotAttempts1765000000000,
];
