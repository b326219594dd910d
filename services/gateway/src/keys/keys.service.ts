import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { NotFoundError } from '@orch/domain-kit';
import type { GatewayConfig, Role } from '../config';
import type { Principal } from '../auth/principal';
import { GATEWAY_CONFIG } from '../tokens';
import { displayPrefix, generateApiKey, hashApiKey } from './api-key';
import { KeysRepository } from './keys.repository';
import { TtlCache } from './ttl-cache';

/** Fixed id of the key configured by ORCH_ADMIN_KEY, so a restart rotates it instead of adding one. */
export const BOOTSTRAP_ADMIN_KEY_ID = 'bootstrap-admin';

export interface IssuedKey {
  readonly id: string;
  /** The key itself: returned once, never stored. */
  readonly key: string;
}

/** API keys: issuing, authenticating (with a short in-memory cache) and revoking. */
@Injectable()
export class KeysService {
  // Misses are cached too (as null) so a flood of bad keys does not become a flood of queries.
  private readonly cache: TtlCache<string, Principal | null>;

  constructor(
    @Inject(KeysRepository) private readonly repo: KeysRepository,
    @Inject(GATEWAY_CONFIG) config: GatewayConfig,
  ) {
    this.cache = new TtlCache(config.keyCacheTtlMs, 10_000);
  }

  /**
   * The principal of `key`, or undefined when it is unknown or revoked. A revocation reaches
   * other replicas within the cache TTL (GATEWAY_KEY_CACHE_TTL_MS).
   */
  async authenticate(key: string): Promise<Principal | undefined> {
    const hash = hashApiKey(key);
    const cacheKey = hash.toString('base64');
    const cached = this.cache.get(cacheKey);
    if (cached !== undefined) return cached ?? undefined;
    const principal = await this.repo.findActiveByHash(hash);
    this.cache.set(cacheKey, principal ?? null);
    return principal;
  }

  async create(
    input: { role: Role; name: string; agentId?: string },
    createdBy: Principal,
  ): Promise<IssuedKey> {
    const key = generateApiKey();
    const id = randomUUID();
    await this.repo.insert({
      id,
      hash: hashApiKey(key),
      prefix: displayPrefix(key),
      role: input.role,
      name: input.name,
      ...(input.agentId ? { agentId: input.agentId } : {}),
      createdBy: createdBy.id,
    });
    return { id, key };
  }

  /** The agent-scoped key handed out by agent registration (replacing one an earlier attempt issued). */
  async issueRegistrationKey(agentId: string, name: string, createdBy: Principal): Promise<IssuedKey> {
    const key = generateApiKey();
    const id = randomUUID();
    await this.repo.replaceRegistrationKey({
      id,
      hash: hashApiKey(key),
      prefix: displayPrefix(key),
      role: 'agent',
      name,
      agentId,
      createdBy: createdBy.id,
    });
    return { id, key };
  }

  /** Revokes a key. Throws NotFoundError when no active key has this id. */
  async revoke(id: string): Promise<void> {
    if (!(await this.repo.revoke(id)))
      throw new NotFoundError(`no active API key with id ${id}`, { keyId: id });
    this.cache.deleteWhere((p) => p?.id === id);
  }

  /** Makes `key` the bootstrap admin key (ORCH_ADMIN_KEY). */
  async ensureBootstrapAdmin(key: string): Promise<void> {
    await this.repo.upsertBootstrap(BOOTSTRAP_ADMIN_KEY_ID, hashApiKey(key), displayPrefix(key));
    this.cache.deleteWhere((p) => p?.id === BOOTSTRAP_ADMIN_KEY_ID);
  }
}
