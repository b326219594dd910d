import { Inject, Injectable } from '@nestjs/common';
import type { Role } from '../config';
import { Database } from '../db/database';
import type { Principal } from '../auth/principal';

export interface NewApiKey {
  readonly id: string;
  readonly hash: Buffer;
  readonly prefix: string;
  readonly role: Role;
  readonly name: string;
  readonly agentId?: string;
  readonly createdBy?: string;
}

/** The api_keys table. Keys are found by the SHA-256 of the key; the key itself is never stored. */
@Injectable()
export class KeysRepository {
  constructor(@Inject(Database) private readonly db: Database) {}

  async insert(key: NewApiKey, origin: 'api' | 'registration' | 'bootstrap' = 'api'): Promise<void> {
    await this.db.pool.query(
      `INSERT INTO ${this.db.s}.api_keys (id, key_hash, prefix, role, name, agent_id, origin, created_by)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [key.id, key.hash, key.prefix, key.role, key.name, key.agentId ?? null, origin, key.createdBy ?? null],
    );
  }

  /**
   * Issues the key of a registered agent, revoking the one an earlier attempt of the same
   * registration issued (a retried POST /api/agents): at most one registration key per agent.
   */
  async replaceRegistrationKey(key: NewApiKey & { agentId: string }): Promise<void> {
    const client = await this.db.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(
        `UPDATE ${this.db.s}.api_keys SET revoked_at = now()
         WHERE agent_id = $1 AND origin = 'registration' AND revoked_at IS NULL`,
        [key.agentId],
      );
      await client.query(
        `INSERT INTO ${this.db.s}.api_keys (id, key_hash, prefix, role, name, agent_id, origin, created_by)
         VALUES ($1, $2, $3, 'agent', $4, $5, 'registration', $6)`,
        [key.id, key.hash, key.prefix, key.name, key.agentId, key.createdBy ?? null],
      );
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  /** The principal of an active (not revoked) key with this hash. */
  async findActiveByHash(hash: Buffer): Promise<Principal | undefined> {
    const { rows } = await this.db.pool.query<{ id: string; role: Role; agent_id: string | null }>(
      `SELECT id, role, agent_id FROM ${this.db.s}.api_keys WHERE key_hash = $1 AND revoked_at IS NULL`,
      [hash],
    );
    const row = rows[0];
    if (!row) return undefined;
    return { id: row.id, role: row.role, ...(row.agent_id ? { agentId: row.agent_id } : {}) };
  }

  /** Revokes an active key; false when no active key has this id. */
  async revoke(id: string): Promise<boolean> {
    const { rowCount } = await this.db.pool.query(
      `UPDATE ${this.db.s}.api_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL`,
      [id],
    );
    return (rowCount ?? 0) > 0;
  }

  /** Creates or rotates the bootstrap admin key (fixed id), un-revoking it if needed. */
  async upsertBootstrap(id: string, hash: Buffer, prefix: string): Promise<void> {
    await this.db.pool.query(
      `INSERT INTO ${this.db.s}.api_keys (id, key_hash, prefix, role, name, origin)
       VALUES ($1, $2, $3, 'admin', 'bootstrap admin (ORCH_ADMIN_KEY)', 'bootstrap')
       ON CONFLICT (id) DO UPDATE SET key_hash = EXCLUDED.key_hash, prefix = EXCLUDED.prefix, revoked_at = NULL`,
      [id, hash, prefix],
    );
  }
}
