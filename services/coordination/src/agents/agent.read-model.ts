import type { AgentDocument } from '@orch/coordination';
import type { Pool } from 'pg';
import type { EntityManager } from 'typeorm';
import { AgentRow } from './agent.entity';

export const toDocument = (row: AgentRow): AgentDocument => ({
  id: row.id,
  name: row.name,
  provider: row.provider,
  model: row.model,
  status: row.status as AgentDocument['status'],
  activeTasks: row.activeTasks,
  slots: row.slots,
  health: row.health as AgentDocument['health'],
  draining: row.draining,
  capabilities: row.capabilities,
  circuit: row.circuit as AgentDocument['circuit'],
  maxConcurrency: row.maxConcurrency,
  cost: { per1kInputTokensUsd: row.costPer1kInput, per1kOutputTokensUsd: row.costPer1kOutput },
  labels: row.labels,
  agentType: row.agentType,
  registeredAt: row.registeredAt.toISOString(),
  version: row.version,
});

const toRow = (doc: AgentDocument, registeredPosition: string): AgentRow =>
  Object.assign(new AgentRow(), {
    id: doc.id,
    name: doc.name,
    provider: doc.provider,
    model: doc.model,
    status: doc.status,
    activeTasks: doc.activeTasks,
    slots: doc.slots.map((s) => ({ taskId: s.taskId, attempt: s.attempt })),
    activeTaskIds: doc.slots.map((s) => s.taskId),
    health: doc.health,
    draining: doc.draining,
    capabilities: [...doc.capabilities],
    circuit: doc.circuit,
    maxConcurrency: doc.maxConcurrency,
    costPer1kInput: doc.cost.per1kInputTokensUsd,
    costPer1kOutput: doc.cost.per1kOutputTokensUsd,
    labels: { ...doc.labels },
    agentType: doc.agentType,
    registeredAt: new Date(doc.registeredAt),
    registeredPosition,
    version: doc.version,
  });

/** The agent's row with a lock for the rest of the transaction, or undefined. */
export async function loadForUpdate(em: EntityManager, id: string): Promise<AgentRow | undefined> {
  const row = await em
    .getRepository(AgentRow)
    .findOne({ where: { id }, lock: { mode: 'pessimistic_write' } });
  return row ?? undefined;
}

export async function saveAgent(
  em: EntityManager,
  doc: AgentDocument,
  registeredPosition: string,
): Promise<void> {
  await em.getRepository(AgentRow).save(toRow(doc, registeredPosition));
}

/**
 * Where the queries read: the service's pool and schema. Reads bypass TypeORM's query builder
 * (the largest CPU item of a read in profiles, BENCHMARKS.md) with named prepared statements;
 * columns are aliased to the entity's property names so `toDocument` serves both paths.
 */
export interface AgentReader {
  readonly pool: Pool;
  readonly schema: string;
}

const selectAgents = (schema: string): string =>
  `SELECT id, name, provider, model, status, active_tasks AS "activeTasks",
          active_slots AS "slots", health, draining, capabilities, circuit,
          max_concurrency AS "maxConcurrency", cost_per_1k_input AS "costPer1kInput",
          cost_per_1k_output AS "costPer1kOutput", labels, agent_type AS "agentType",
          registered_at AS "registeredAt", registered_position AS "registeredPosition", version
     FROM "${schema}".agents`;

export async function findAgent(reader: AgentReader, id: string): Promise<AgentDocument | undefined> {
  const { rows } = await reader.pool.query<AgentRow>({
    name: `coordination.agents.find/${reader.schema}`,
    text: `${selectAgents(reader.schema)} WHERE id = $1`,
    values: [id],
  });
  return rows[0] ? toDocument(rows[0]) : undefined;
}

/** An opaque cursor: the registration position of the last agent of the previous page. */
const encodeCursor = (position: string): string => Buffer.from(`p:${position}`).toString('base64url');
export function decodeCursor(cursor: string): string | undefined {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  return /^p:\d{1,19}$/.test(text) ? text.slice(2) : undefined;
}

/** One page of agents in registration order. `after` is a decoded cursor. */
export async function listAgents(
  reader: AgentReader,
  limit: number,
  after: string | undefined,
): Promise<{ items: AgentDocument[]; nextCursor: string | undefined }> {
  const { rows } = await reader.pool.query<AgentRow>({
    name: `coordination.agents.page/${reader.schema}`,
    text: `${selectAgents(reader.schema)} WHERE registered_position > $1 ORDER BY registered_position LIMIT $2`,
    values: [after ?? '0', limit + 1],
  });
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return {
    items: page.map(toDocument),
    nextCursor: rows.length > limit && last ? encodeCursor(last.registeredPosition) : undefined,
  };
}
