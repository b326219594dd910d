import { ConflictError, IllegalStateError, NotFoundError, ValidationError, spec } from '@orch/domain-kit';
import type { TaskSpecData } from '@orch/distribution';
import type { FleetFacts, StartSession } from './session.commands';
import { messagesAfter, sessionDecider, sessionStatus } from './session.decider';
import type { SessionEvent } from './session.events';
import { task } from './session.fixtures';

const at = new Date('2026-11-21T10:00:00.000Z');
const stamp = '2026-11-21T10:00:00Z';
const given = spec(sessionDecider).given;
const fleet: FleetFacts = { offers: (c) => c === 'juggling', isRegistered: (id) => id === 'a1' };
const roles = { soloAgentId: 'a1', driverAgentId: '', navigatorAgentId: '', supervisorAgentId: '' };

const start = (fields: Partial<StartSession> = {}): StartSession => ({
  type: 'StartSession',
  sessionId: 's1',
  goal: 'build it',
  pattern: 'solo',
  tasks: [task('a'), task('b', { dependsOn: ['a'] })],
  agentIds: [],
  budgetUsd: 0,
  strategy: '',
  maxRounds: 0,
  resolved: { pattern: 'solo', reason: '', roles },
  fleet,
  at,
  ...fields,
});
const started = (
  fields: Partial<Extract<SessionEvent, { type: 'SessionStarted' }>['data']> = {},
): SessionEvent => ({
  type: 'SessionStarted',
  data: {
    sessionId: 's1',
    goal: 'build it',
    pattern: 'solo',
    patternReason: '',
    tasks: [task('a'), task('b', { dependsOn: ['a'] })],
    agentIds: [],
    roles,
    strategy: 'weighted',
    maxRounds: 0,
    budgetUsd: 0,
    startedAt: stamp,
    conflictPolicy: '',
    ...fields,
  },
});
const problemsOf = (command: StartSession): { paths: string[]; messages: string[]; details: object } => {
  try {
    sessionDecider.decide(command, sessionDecider.initialState());
  } catch (e) {
    if (!(e instanceof ValidationError)) throw e;
    return {
      paths: e.errors.map((p) => p.path),
      messages: e.errors.map((p) => p.message),
      details: e.details,
    };
  }
  throw new Error('expected a ValidationError');
};

describe('starting a session', () => {
  it('records the request, the pattern, its roles and the default strategy', () =>
    given([]).when(start()).then([started()]));

  it('records why auto chose the pattern', () =>
    given([])
      .when(start({ pattern: 'auto', resolved: { pattern: 'solo', reason: 'a single task', roles } }))
      .then([started({ patternReason: 'a single task' })]));

  it('answers a retry of the same start with no event', () =>
    given([started()])
      .when(start({ at: new Date('2026-11-21T11:00:00Z') }))
      .then([]));

  it('recognises a retry of an auto start', () =>
    given([started({ patternReason: 'a single task' })])
      .when(start({ pattern: 'auto' }))
      .then([]));

  it('refuses a different start under the same id', () =>
    given([started()])
      .when(start({ goal: 'something else' }))
      .thenThrows(ConflictError, /different request/));

  it('refuses auto under the id of a session started with an explicit pattern', () =>
    given([started()])
      .when(start({ pattern: 'auto' }))
      .thenThrows(ConflictError));

  it("records the session's conflict policy for its claims", () =>
    given([])
      .when(start({ conflictPolicy: 'preempt' }))
      .then([started({ conflictPolicy: 'preempt' })]));

  it('refuses a different conflict policy under the same id', () =>
    given([started({ conflictPolicy: 'wait-die' })])
      .when(start({ conflictPolicy: 'wound-wait' }))
      .thenThrows(ConflictError, /different request/));

  it('recognises a retry of a start recorded before sessions had a conflict policy', () => {
    const { conflictPolicy: _, ...before } = (started() as Extract<SessionEvent, { type: 'SessionStarted' }>)
      .data;
    const legacy = { type: 'SessionStarted', data: before } as unknown as SessionEvent;
    return given([legacy]).when(start()).then([]);
  });

  it('starts a hierarchical session without tasks', () =>
    given([])
      .when(
        start({
          pattern: 'hierarchical',
          tasks: [],
          resolved: { pattern: 'hierarchical', reason: '', roles },
        }),
      )
      .then([started({ pattern: 'hierarchical', tasks: [] })]));
});

describe('session validation', () => {
  it('rejects a dependency cycle with its path, and records nothing', () => {
    const tasks: TaskSpecData[] = [
      task('a', { dependsOn: ['c'] }),
      task('b', { dependsOn: ['a'] }),
      task('c', { dependsOn: ['b'] }),
    ];
    const { paths, messages, details } = problemsOf(start({ tasks }));
    expect(paths).toEqual(['tasks']);
    expect(messages).toEqual(['dependency cycle: a -> c -> b -> a']);
    expect(details).toEqual({ cycle: ['a', 'c', 'b', 'a'] });
  });

  it('points at unknown and self dependencies and duplicate keys', () => {
    const { paths } = problemsOf(
      start({ tasks: [task('a', { dependsOn: ['zz'] }), task('b', { dependsOn: ['b'] }), task('a')] }),
    );
    expect(paths.sort()).toEqual(['tasks[0].dependsOn', 'tasks[1].dependsOn', 'tasks[2].key']);
  });

  it('names every invalid task field', () => {
    const { paths } = problemsOf(
      start({
        tasks: [
          task('bad key!', {
            type: ' ',
            priority: 1001,
            timeoutMs: 24 * 3_600_000 + 1,
            maxAttempts: 21,
            capabilities: ['', 'code'],
          }),
        ],
      }),
    );
    expect(paths).toEqual([
      'tasks[0].key',
      'tasks[0].type',
      'tasks[0].priority',
      'tasks[0].timeoutMs',
      'tasks[0].maxAttempts',
      'tasks[0].capabilities[0]',
    ]);
  });

  it('rejects a capability no agent and no catalogue type offers, by its path', () => {
    const { paths, messages } = problemsOf(
      start({ tasks: [task('a', { capabilities: ['code', 'telepathy'] })] }),
    );
    expect(paths).toEqual(['tasks[0].capabilities[1]']);
    expect(messages[0]).toMatch(/unknown capability "telepathy"/);
  });

  it('accepts a capability a registered agent offers though the catalogue does not', () =>
    given([])
      .when(start({ tasks: [task('a', { capabilities: ['juggling'] })] }))
      .then([started({ tasks: [task('a', { capabilities: ['juggling'] })] })]));

  it('names every invalid session setting', () => {
    const { paths } = problemsOf(
      start({
        goal: 'x'.repeat(4001),
        pattern: 'chaos',
        agentIds: ['a1', 'ghost'],
        budgetUsd: -1,
        strategy: 'random',
        maxRounds: 21,
        conflictPolicy: 'first-come',
      }),
    );
    expect(paths).toEqual([
      'goal',
      'pattern',
      'agentIds[1]',
      'budgetUsd',
      'strategy',
      'maxRounds',
      'conflictPolicy',
    ]);
  });

  it('requires a goal', () => expect(problemsOf(start({ goal: '  ' })).paths).toEqual(['goal']));

  it('requires a task unless the session is hierarchical', () => {
    expect(problemsOf(start({ tasks: [] })).paths).toEqual(['tasks']);
    expect(
      problemsOf(start({ tasks: Array.from({ length: 1001 }, (_, i) => task(`t${i}`)) })).messages,
    ).toEqual(['must hold at most 1000 tasks']);
  });
});

describe('cancelling and closing a session', () => {
  const cancel = { type: 'CancelSession' as const, sessionId: 's1', reason: 'changed my mind', at };
  const cancelled: SessionEvent = {
    type: 'SessionCancelled',
    data: { sessionId: 's1', reason: 'changed my mind', cancelledAt: stamp },
  };
  const close = (status: 'completed' | 'failed' | 'cancelled') => ({
    type: 'CloseSession' as const,
    sessionId: 's1',
    status,
    reason: '',
    at,
  });
  const closed = (status: 'completed' | 'failed' | 'cancelled'): SessionEvent => ({
    type: 'SessionClosed',
    data: { sessionId: 's1', status, reason: '', closedAt: stamp },
  });

  it('cancels a running session', () => given([started()]).when(cancel).then([cancelled]));
  it('ignores a second cancellation', () => given([started(), cancelled]).when(cancel).then([]));
  it('ignores a cancellation of a session closed as cancelled', () =>
    given([started(), cancelled, closed('cancelled')])
      .when(cancel)
      .then([]));
  it('refuses to cancel a completed session', () =>
    given([started(), closed('completed')])
      .when(cancel)
      .thenThrows(IllegalStateError, /already completed/));
  it('refuses to cancel a failed session', () =>
    given([started(), closed('failed')])
      .when(cancel)
      .thenThrows(IllegalStateError));
  it('cannot cancel a session that does not exist', () => given([]).when(cancel).thenThrows(NotFoundError));

  it('closes a session when its workflow ends', () =>
    given([started()])
      .when(close('completed'))
      .then([closed('completed')]));
  it('closes a cancelling session as cancelled', () =>
    given([started(), cancelled])
      .when(close('cancelled'))
      .then([closed('cancelled')]));
  it('closes once', () =>
    given([started(), closed('failed')])
      .when(close('completed'))
      .then([]));
  it('refuses an unknown outcome', () =>
    given([started()])
      .when({ ...close('completed'), status: 'exploded' as 'completed' })
      .thenThrows(ValidationError));

  it('shows the status', () => {
    const status = (events: SessionEvent[]) =>
      sessionStatus(events.reduce(sessionDecider.evolve, sessionDecider.initialState()));
    expect(status([started()])).toBe('running');
    expect(status([started(), cancelled])).toBe('cancelled');
    expect(status([started(), closed('failed')])).toBe('failed');
  });
});

describe('messages', () => {
  const post = (messageId: string, fields: object = {}) => ({
    type: 'PostMessage' as const,
    sessionId: 's1',
    messageId,
    from: 'user',
    to: '',
    body: { text: messageId } as never,
    at,
    ...fields,
  });
  const posted = (messageId: string, sequence: number, to = ''): SessionEvent => ({
    type: 'SessionMessagePosted',
    data: {
      sessionId: 's1',
      messageId,
      sequence: String(sequence),
      from: 'user',
      to,
      body: { text: messageId },
      postedAt: stamp,
    },
  });

  it('numbers messages in the order they are posted', () =>
    given([started(), posted('m1', 1)])
      .when(post('m2'))
      .then([posted('m2', 2)]));
  it('answers a retried message with no event', () =>
    given([started(), posted('m1', 1)])
      .when(post('m1'))
      .then([]));
  it('requires a body, a sender and an id', () =>
    given([started()])
      .when(post('', { body: undefined, from: '' }))
      .thenThrows(ValidationError));
  it('takes no message once the session is closed', () =>
    given([
      started(),
      { type: 'SessionClosed', data: { sessionId: 's1', status: 'completed', reason: '', closedAt: stamp } },
    ])
      .when(post('m1'))
      .thenThrows(IllegalStateError));
  it('takes no message for a session that does not exist', () =>
    given([]).when(post('m1')).thenThrows(NotFoundError));

  it('pages messages after a sequence, filtered to what an agent receives', () => {
    const state = [
      started(),
      posted('m1', 1),
      posted('m2', 2, 'a2'),
      posted('m3', 3, 'a1'),
      posted('m4', 4),
    ].reduce(sessionDecider.evolve, sessionDecider.initialState());
    const ids = (page: { messageId: string }[]) => page.map((m) => m.messageId);
    expect(ids(messagesAfter(state, 0, 10))).toEqual(['m1', 'm2', 'm3', 'm4']);
    expect(ids(messagesAfter(state, 1, 2))).toEqual(['m2', 'm3']);
    expect(ids(messagesAfter(state, 0, 10, 'a1'))).toEqual(['m1', 'm3', 'm4']);
    expect(ids(messagesAfter(state, 4, 10))).toEqual([]);
  });
});
