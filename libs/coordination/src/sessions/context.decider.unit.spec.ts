import { ConflictError, ValidationError, spec } from '@orch/domain-kit';
import { contextDecider } from './context.decider';
import type { PutContext } from './session.commands';
import type { SessionContextUpdated } from './session.events';

const at = new Date('2026-11-21T10:00:00.000Z');
const given = spec(contextDecider).given;
const put = (fields: Partial<PutContext> = {}): PutContext => ({
  type: 'PutContext',
  sessionId: 's1',
  key: 'plan.draft',
  value: { steps: 3 },
  at,
  ...fields,
});
const updated = (
  version: number,
  value: SessionContextUpdated['data']['value'] = { steps: 3 },
): SessionContextUpdated => ({
  type: 'SessionContextUpdated',
  data: {
    sessionId: 's1',
    key: 'plan.draft',
    value,
    version: String(version),
    updatedAt: '2026-11-21T10:00:00Z',
  },
});

describe('a key of the shared context', () => {
  it('is written at version 1 first', () =>
    given([])
      .when(put())
      .then([updated(1)]));
  it('moves to the next version on every write', () =>
    given([updated(1), updated(2)])
      .when(put())
      .then([updated(3)]));
  it('is written when the expected version matches', () =>
    given([updated(1)])
      .when(put({ expectedVersion: 1 }))
      .then([updated(2)]));
  it('can be required not to exist yet (version 0)', () =>
    given([updated(1)])
      .when(put({ expectedVersion: 0 }))
      .thenThrows(ConflictError, /at version 1, not 0/));

  it('refuses a stale write, naming the current version', () => {
    const state = [updated(1), updated(2)].reduce(contextDecider.evolve, contextDecider.initialState());
    try {
      contextDecider.decide(put({ expectedVersion: 1 }), state);
      throw new Error('expected a ConflictError');
    } catch (e) {
      expect(e).toBeInstanceOf(ConflictError);
      expect((e as ConflictError).details).toMatchObject({ currentVersion: 2, expectedVersion: 1 });
    }
  });

  it('refuses an invalid key and a missing value', () =>
    given([])
      .when(put({ key: 'no spaces', value: undefined }))
      .thenThrows(ValidationError));

  it('takes null as a value', () =>
    given([])
      .when(put({ value: null }))
      .then([updated(1, null)]));
});
