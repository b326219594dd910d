import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ForbiddenError } from '@orch/domain-kit';
import type { FastifyRequest } from 'fastify';
import type { Role } from '../config';
import { UnauthenticatedError } from '../problem/errors';
import { ALLOWED_ROLES, OWN_AGENT_PARAM, PUBLIC_ROUTE } from './access';

/**
 * Authorization for every route: the authentication hook has already resolved the API key to a
 * principal (or marked it invalid); this guard turns "no principal" into 401 and "wrong role"
 * or "another agent's resource" into 403.
 */
@Injectable()
export class AccessGuard implements CanActivate {
  constructor(@Inject(Reflector) private readonly reflector: Reflector) {}

  canActivate(ctx: ExecutionContext): boolean {
    const targets = [ctx.getHandler(), ctx.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE, targets)) return true;
    const req = ctx.switchToHttp().getRequest<FastifyRequest>();
    const principal = req.principal;
    if (!principal) {
      throw req.authFailure === 'invalid_token'
        ? new UnauthenticatedError('the API key is unknown or revoked', 'invalid_token')
        : new UnauthenticatedError('send an API key as "Authorization: Bearer <key>"', 'missing');
    }
    const roles = this.reflector.getAllAndOverride<Role[]>(ALLOWED_ROLES, targets) ?? ['admin'];
    if (roles.includes(principal.role)) return true;
    const ownParam = this.reflector.getAllAndOverride<string>(OWN_AGENT_PARAM, targets);
    if (principal.role === 'agent' && ownParam) {
      const params = (req.params ?? {}) as Record<string, string | undefined>;
      if (principal.agentId !== undefined && params[ownParam] === principal.agentId) return true;
      throw new ForbiddenError('an agent key reaches only its own agent', { agentId: principal.agentId });
    }
    throw new ForbiddenError(`this operation needs one of the roles ${roles.join(', ')}`, {
      role: principal.role,
    });
  }
}
