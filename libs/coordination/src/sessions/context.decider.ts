import { ConflictError, ValidationError, rfc3339, type Decider } from '@orch/domain-kit';
import type { JsonValue } from '@orch/distribution';
import type { PutContext } from './session.commands';
import type { SessionContextUpdated } from './session.events';

/** One key of a session's shared context. Its version is its stream's: 0 before the first write. */
export interface ContextState {
  readonly version: number;
  readonly value?: JsonValue;
  readonly updatedAt?: string;
}

export const CONTEXT_KEY = /^[A-Za-z0-9._:-]{1,200}$/;

export const contextStreamId = (sessionId: string, key: string): string =>
  `session-${sessionId}-context-${key}`;

function put(c: PutContext, state: ContextState): SessionContextUpdated[] {
  const problems = [
    ...(CONTEXT_KEY.test(c.key)
      ? []
      : [{ path: 'key', message: 'must be 1 to 200 letters, digits or . _ : -' }]),
    ...(c.value === undefined ? [{ path: 'value', message: 'is required' }] : []),
  ];
  if (problems.length > 0) throw new ValidationError('invalid context write', problems);
  if (c.expectedVersion !== undefined && c.expectedVersion !== state.version) {
    throw new ConflictError(
      `context key "${c.key}" is at version ${state.version}, not ${c.expectedVersion}`,
      {
        sessionId: c.sessionId,
        key: c.key,
        currentVersion: state.version,
        expectedVersion: c.expectedVersion,
      },
    );
  }
  return [
    {
      type: 'SessionContextUpdated',
      data: {
        sessionId: c.sessionId,
        key: c.key,
        value: c.value ?? null,
        version: String(state.version + 1),
        updatedAt: rfc3339(c.at),
      },
    },
  ];
}

export const contextDecider: Decider<PutContext, SessionContextUpdated, ContextState> = {
  decide: put,
  evolve: (_state, event) => ({
    version: Number(event.data.version),
    value: event.data.value,
    updatedAt: event.data.updatedAt,
  }),
  initialState: () => ({ version: 0 }),
};
