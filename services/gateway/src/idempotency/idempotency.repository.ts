import { Inject, Injectable } from '@nestjs/common';
import type { GatewayConfig } from '../config';
import { Database } from '../db/database';
import { GATEWAY_CONFIG } from '../tokens';

export interface IdempotencyScope {
  readonly principalId: string;
  readonly key: string;
}

export interface StoredResponse {
  readonly status: number;
  readonly contentType: string;
  readonly body: unknown;
}

/** What claiming a key found. */
export type Claim =
  | { readonly kind: 'claimed' }
  | { readonly kind: 'replay'; readonly response: StoredResponse }
  | { readonly kind: 'in_progress' }
  | { readonly kind: 'mismatch' };

/**
 * The idempotency_keys table. A key is scoped to the principal (two clients may use the same
 * key), remembers the request it was first used for (method, path, SHA-256 of the body) and,
 * once done, the response to replay.
 */
@Injectable()
export class IdempotencyRepository {
  constructor(
    @Inject(Database) private readonly db: Database,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
  ) {}

  /**
   * Claims the key for a request, atomically. An expired record, or an in-progress record of
   * the same request whose lease ran out (its replica died), is taken over.
   */
  async claim(
    scope: IdempotencyScope,
    method: string,
    path: string,
    requestHash: Buffer,
    attempt = 1,
  ): Promise<Claim> {
    const s = this.db.s;
    const ttl = `${this.config.idempotencyTtlMs} milliseconds`;
    const lease = `${this.config.idempotencyLeaseMs} milliseconds`;
    const inserted = await this.db.pool.query(
      `INSERT INTO ${s}.idempotency_keys
         (principal_id, key, method, path, request_hash, state, locked_until, expires_at)
       VALUES ($1, $2, $3, $4, $5, 'in_progress', now() + $6::interval, now() + $7::interval)
       ON CONFLICT (principal_id, key) DO UPDATE SET
         method = EXCLUDED.method, path = EXCLUDED.path, request_hash = EXCLUDED.request_hash,
         state = 'in_progress', status_code = NULL, content_type = NULL, response = NULL,
         locked_until = EXCLUDED.locked_until, created_at = now(), expires_at = EXCLUDED.expires_at
       WHERE idempotency_keys.expires_at <= now()
          OR (idempotency_keys.state = 'in_progress' AND idempotency_keys.locked_until <= now()
              AND idempotency_keys.request_hash = EXCLUDED.request_hash)
       RETURNING 1`,
      [scope.principalId, scope.key, method, path, requestHash, lease, ttl],
    );
    if ((inserted.rowCount ?? 0) > 0) return { kind: 'claimed' };

    const { rows } = await this.db.pool.query<{
      request_hash: Buffer;
      state: 'in_progress' | 'completed';
      status_code: number | null;
      content_type: string | null;
      response: unknown;
    }>(
      `SELECT request_hash, state, status_code, content_type, response
       FROM ${s}.idempotency_keys WHERE principal_id = $1 AND key = $2`,
      [scope.principalId, scope.key],
    );
    const row = rows[0];
    // Released between our insert and select: claim it again (a few times at most).
    if (!row)
      return attempt < 3
        ? this.claim(scope, method, path, requestHash, attempt + 1)
        : { kind: 'in_progress' };
    if (!row.request_hash.equals(requestHash)) return { kind: 'mismatch' };
    if (row.state === 'in_progress') return { kind: 'in_progress' };
    return {
      kind: 'replay',
      response: {
        status: row.status_code ?? 200,
        contentType: row.content_type ?? 'application/json',
        body: row.response,
      },
    };
  }

  /** Stores the response of a claimed key; later retries replay it. */
  async complete(scope: IdempotencyScope, response: StoredResponse): Promise<void> {
    await this.db.pool.query(
      `UPDATE ${this.db.s}.idempotency_keys
       SET state = 'completed', status_code = $3, content_type = $4, response = $5::jsonb
       WHERE principal_id = $1 AND key = $2 AND state = 'in_progress'`,
      [
        scope.principalId,
        scope.key,
        response.status,
        response.contentType,
        JSON.stringify(response.body ?? null),
      ],
    );
  }

  /** Forgets a claimed key (the request failed with a 5xx), so the client can retry with it. */
  async release(scope: IdempotencyScope): Promise<void> {
    await this.db.pool.query(
      `DELETE FROM ${this.db.s}.idempotency_keys WHERE principal_id = $1 AND key = $2 AND state = 'in_progress'`,
      [scope.principalId, scope.key],
    );
  }

  /** Deletes expired records; returns how many. */
  async purgeExpired(): Promise<number> {
    const { rowCount } = await this.db.pool.query(
      `DELETE FROM ${this.db.s}.idempotency_keys WHERE expires_at <= now()`,
    );
    return rowCount ?? 0;
  }
}
