import { create } from '@bufbuild/protobuf';
import { Inject, Injectable } from '@nestjs/common';
import { ListPoolsSchema, type PoolList, type PoolView } from '@orch/contracts';
import { ValidationError, type FieldProblem } from '@orch/domain-kit';
import { CommandTimeoutError, ServiceUnavailableError, isRemoteDomainError } from '@orch/messaging';
import type { FastifyRequest } from 'fastify';
import type { Principal } from '../auth/principal';
import { CommandSender, command } from '../commands/command-sender';
import { DependencyUnavailableError } from '../problem/errors';
import { isPoolClaim, type ClaimInput } from './claims.schemas';

const LIST_POOLS = command('resources.ListPools');

/** How many pool ids an "unknown pool" message lists. */
const POOLS_SHOWN = 10;

/** Tasks whose claims are checked: each task's `claims` as the API took them. */
export interface TaskWithClaims {
  readonly claims?: readonly ClaimInput[] | undefined;
}

/**
 * Problems of the pool claims of `tasks` against the pools that exist, at paths such as
 * `tasks[2].claims[0].pool`: a pool nobody defined, or an amount more than the pool can ever give
 * at once (its burst for a rate pool, its capacity otherwise) - such a task would wait forever.
 */
export function poolClaimProblems(
  tasks: readonly TaskWithClaims[],
  pools: readonly PoolView[],
  path = 'tasks',
): FieldProblem[] {
  const byId = new Map(pools.flatMap((p) => (p.spec ? [[p.spec.poolId, p] as const] : [])));
  const known = [...byId.keys()].sort();
  const shown =
    known.length === 0
      ? 'no pool is defined yet'
      : `defined pools: ${known.slice(0, POOLS_SHOWN).join(', ')}${known.length > POOLS_SHOWN ? ', ...' : ''}`;
  const problems: FieldProblem[] = [];
  tasks.forEach((task, i) =>
    (task.claims ?? []).forEach((claim, j) => {
      if (!isPoolClaim(claim)) return;
      const at = `${path}[${i}].claims[${j}]`;
      const pool = byId.get(claim.pool);
      if (!pool?.spec) {
        problems.push({ path: `${at}.pool`, message: `unknown pool "${claim.pool}" (${shown})` });
        return;
      }
      const spec = pool.spec;
      const most = spec.kind === 'rate' ? spec.burst || spec.capacity : spec.capacity;
      if (claim.amount > most) {
        problems.push({
          path: `${at}.amount`,
          message: `${claim.amount} ${spec.unit} is more than pool "${spec.poolId}" can ever give (${spec.kind === 'rate' ? 'burst' : 'capacity'} ${most})`,
        });
      }
    }),
  );
  return problems;
}

/**
 * Checks the pools a session's tasks claim before the session starts: a claim on a pool that does
 * not exist is the client's mistake (400 naming the claim), not a task that waits forever. When
 * the resources service does not answer, the session is not started with unchecked claims (503).
 */
@Injectable()
export class PoolClaimsCheck {
  constructor(@Inject(CommandSender) private readonly commands: CommandSender) {}

  /**
   * @throws ValidationError naming each bad claim
   * @throws DependencyUnavailableError when the resources service cannot be asked
   */
  async check(
    tasks: readonly TaskWithClaims[],
    req: FastifyRequest,
    principal: Principal,
    path = 'tasks',
  ): Promise<void> {
    if (!tasks.some((t) => (t.claims ?? []).some(isPoolClaim))) return;
    let list: PoolList;
    try {
      list = await this.commands.send<PoolList>(LIST_POOLS, create(ListPoolsSchema, {}), req, principal);
    } catch (cause) {
      const unavailable =
        cause instanceof ServiceUnavailableError ||
        cause instanceof CommandTimeoutError ||
        (isRemoteDomainError(cause) && (cause.code === 'unavailable' || cause.code === 'timeout'));
      if (!unavailable) throw cause;
      throw new DependencyUnavailableError('resources', {
        cause,
        detail:
          'the resources service did not answer, so the pools the tasks claim could not be checked; ' +
          'nothing was started - retry later',
      });
    }
    const problems = poolClaimProblems(tasks, list.items, path);
    if (problems.length > 0)
      throw new ValidationError('some claims name pools that cannot serve them', problems);
  }
}
