import type { Role } from '../config';

/**
 * Who is calling: the API key's id and role (plus the agent an agent key is bound to). Passed
 * explicitly to every command the gateway sends; handlers never read it from ambient state.
 */
export interface Principal {
  readonly id: string;
  readonly role: Role;
  readonly agentId?: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the authentication hook when a valid key was presented. */
    principal?: Principal;
    /** Set when a key was presented but is unknown or revoked. */
    authFailure?: 'invalid_token';
  }
}
