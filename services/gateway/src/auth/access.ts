import { SetMetadata, createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { Role } from '../config';
import type { Principal } from './principal';

export const PUBLIC_ROUTE = 'orch:public';
export const ALLOWED_ROLES = 'orch:roles';
export const OWN_AGENT_PARAM = 'orch:own-agent-param';

/** Reachable without an API key (health, metrics). */
export const Public = () => SetMetadata(PUBLIC_ROUTE, true);

/** Roles allowed on the route (API.md). Routes without it are admin-only. */
export const Allow = (...roles: Role[]) => SetMetadata(ALLOWED_ROLES, roles);

/** Readers: viewer, operator and admin. */
export const READERS: readonly Role[] = ['viewer', 'operator', 'admin'];

/**
 * An agent key may also use the route, but only for its own agent: the route parameter `param`
 * must equal the key's agentId (another agent's id -> 403).
 */
export const AllowOwnAgent = (param = 'id') => SetMetadata(OWN_AGENT_PARAM, param);

/** The authenticated principal of the request (routes behind the access guard always have one). */
export const CurrentPrincipal = createParamDecorator((_data: unknown, ctx: ExecutionContext): Principal => {
  const principal = ctx.switchToHttp().getRequest<FastifyRequest>().principal;
  if (!principal) throw new Error('CurrentPrincipal used on a route without authentication');
  return principal;
});
