import {
  ConflictError,
  IllegalStateError,
  NotFoundError,
  ValidationError,
  fold,
  spec,
} from '@orch/domain-kit';
import fc from 'fast-check';
import type { AgentCommand, AssignTask, ReleasedAttempt } from './agent.commands';
import { agentDecider, agentStatus } from './agent.decider';
import type { AgentEvent, SelectionData } from './agent.events';

const at = new Date('2026-11-21T10:00:00.000Z');
const stamp = '2026-11-21T10:00:00Z';
const given = spec(agentDecider).given;

const registered = (maxConcurrency = 2): AgentEvent => ({
  type: 'AgentRegistered',
  data: {
    agentId: 'a1',
    name: 'coder-1',
    provider: 'openai',
    model: 'gpt-x',
    capabilities: [{ name: 'code', level: 0.9 }],
    maxConcurrency,
    cost: { per1kInputTokensUsd: 0, per1kOutputTokensUsd: 0 },
    labels: {},
    agentType: 'coder',
    registeredAt: stamp,
  },
});
const selection: SelectionData = {
  strategy: 'weighted',
  agentId: 'a1',
  candidates: [{ agentId: 'a1', score: 0.8, reasons: ['capability code 0.90'] }],
  eligible: 1,
  notes: [],
};
const assign = (taskId: string, attempt = 1): AssignTask => ({
  type: 'AssignTask',
  agentId: 'a1',
  taskId,
  attempt,
  sessionId: 's1',
  selection,
  at,
});
const assigned = (taskId: string, attempt = 1): AgentEvent => ({
  type: 'AgentTaskAssigned',
  data: { agentId: 'a1', taskId, sessionId: 's1', selection, assignedAt: stamp, attempt },
});
const released = (taskId: string, attempt = 1, reason = 'TaskSucceeded'): AgentEvent => ({
  type: 'AgentTaskReleased',
  data: { agentId: 'a1', taskId, reason, releasedAt: stamp, attempt },
});
const release = (taskId: string, attempt: ReleasedAttempt = 1): AgentCommand => ({
  type: 'ReleaseTask',
  agentId: 'a1',
  taskId,
  attempt,
  reason: 'TaskSucceeded',
  at,
});
/** Events as they were recorded before slots carried attempts. */
const legacyAssigned = (taskId: string): AgentEvent => ({
  type: 'AgentTaskAssigned',
  data: { agentId: 'a1', taskId, sessionId: 's1', selection, assignedAt: stamp },
});
const legacyReleased = (taskId: string): AgentEvent => ({
  type: 'AgentTaskReleased',
  data: { agentId: 'a1', taskId, reason: 'TaskSucceeded', releasedAt: stamp },
});
/** The slots the agent holds after `events`. */
const slotsAfter = (events: AgentEvent[]) => {
  const state = fold(agentDecider, events);
  return state.status === 'registered' ? state.slots : [];
};
const draining: AgentEvent = { type: 'AgentDraining', data: { agentId: 'a1', at: stamp } };
const unhealthy = (releasedTaskIds: string[]): AgentEvent => ({
  type: 'AgentBecameUnhealthy',
  data: { agentId: 'a1', lastHeartbeatAt: '2026-11-21T09:59:40Z', releasedTaskIds, at: stamp },
});
const markUnhealthy: AgentCommand = {
  type: 'MarkUnhealthy',
  agentId: 'a1',
  lastHeartbeatAt: new Date('2026-11-21T09:59:40Z'),
  at,
};
const recovered: AgentEvent = { type: 'AgentRecovered', data: { agentId: 'a1', at: stamp } };
const recover: AgentCommand = { type: 'Recover', agentId: 'a1', at };
const deregistered: AgentEvent = {
  type: 'AgentDeregistered',
  data: { agentId: 'a1', reason: 'retired', deregisteredAt: stamp },
};

describe('assigning a task to an agent', () => {
  it('takes a free slot', () =>
    given([registered()])
      .when(assign('t1'))
      .then([assigned('t1')]));

  it('answers a repeated assignment of a task it holds with no event', () =>
    given([registered(), assigned('t1')])
      .when(assign('t1'))
      .then([]));

  it('refuses a task beyond its capacity', () =>
    given([registered(2), assigned('t1'), assigned('t2')])
      .when(assign('t3'))
      .thenThrows(ConflictError, /at capacity \(2 of 2 slots taken\)/));

  it('takes a task again once a slot was released', () =>
    given([registered(1), assigned('t1'), released('t1')])
      .when(assign('t2'))
      .then([assigned('t2')]));

  it('refuses work while draining', () =>
    given([registered(), draining])
      .when(assign('t1'))
      .thenThrows(IllegalStateError, /draining/));

  it('refuses work while unhealthy', () =>
    given([registered(), unhealthy([])])
      .when(assign('t1'))
      .thenThrows(IllegalStateError, /unhealthy/));

  it('takes work again after recovering', () =>
    given([registered(), unhealthy([]), recovered])
      .when(assign('t1'))
      .then([assigned('t1')]));

  it('refuses work once deregistered', () =>
    given([registered(), deregistered])
      .when(assign('t1'))
      .thenThrows(IllegalStateError, /deregistered/));

  it('refuses work for an agent that does not exist', () =>
    given([]).when(assign('t1')).thenThrows(NotFoundError));

  it('refuses an assignment without a task id', () =>
    given([registered()]).when(assign(' ')).thenThrows(ValidationError));

  it('refuses an attempt that is not a non-negative integer', () =>
    given([registered()])
      .when(assign('t1', -1))
      .thenThrows(ValidationError, /invalid assignment/));
});

describe("a task's next attempt while the slot of the attempt that ended is still held", () => {
  it('takes a slot of its own: the repeat is of the same attempt only', () =>
    given([registered(2), assigned('t1', 1)])
      .when(assign('t1', 2))
      .then([assigned('t1', 2)]));

  it('counts the old slot against the capacity until it is released', () =>
    given([registered(1), assigned('t1', 1)])
      .when(assign('t1', 2))
      .thenThrows(ConflictError, /at capacity \(1 of 1 slots taken\)/));

  it('takes its slot once the old one was released', () =>
    given([registered(1), assigned('t1', 1), released('t1', 1)])
      .when(assign('t1', 2))
      .then([assigned('t1', 2)]));

  it("the late release of the attempt that ended leaves the retry's slot held and counted", () => {
    // Attempt 1 held; distribution retries the task on the same agent (attempt 2) before
    // coordination processed the failure of attempt 1, whose release then arrives.
    const history = [registered(2), assigned('t1', 1), assigned('t1', 2)];
    given(history)
      .when(release('t1', 1))
      .then([released('t1', 1)]);
    const after = [...history, released('t1', 1)];
    expect(slotsAfter(after)).toEqual([{ taskId: 't1', attempt: 2 }]);
    expect(agentStatus(fold(agentDecider, after))).toBe('busy');
    // The agent's one free slot is the only one: the retry's slot still counts.
    given([...after, assigned('t2', 1)])
      .when(assign('t3', 1))
      .thenThrows(ConflictError, /at capacity \(2 of 2 slots taken\)/);
    // A repeat of the release changes nothing either.
    given(after).when(release('t1', 1)).then([]);
  });
});

describe('slots recorded before they carried attempts (attempt 0)', () => {
  it('read as slots of attempt 0', () =>
    expect(slotsAfter([registered(), legacyAssigned('t1')])).toEqual([{ taskId: 't1', attempt: 0 }]));

  it('a release recorded without an attempt gives back every slot of the task', () =>
    expect(
      slotsAfter([
        registered(3),
        assigned('t1', 1),
        assigned('t1', 2),
        assigned('t2', 1),
        legacyReleased('t1'),
      ]),
    ).toEqual([{ taskId: 't2', attempt: 1 }]));

  it('a slot without an attempt is given back by a release of any attempt of its task', () =>
    given([registered(), legacyAssigned('t1')])
      .when(release('t1', 3))
      .then([released('t1', 3)]));

  it('an assignment that names no attempt repeats any attempt of the task held', () =>
    given([registered(), assigned('t1', 2)])
      .when(assign('t1', 0))
      .then([]));

  it('an assignment of an attempt takes its own slot next to a slot without an attempt', () =>
    given([registered(), legacyAssigned('t1')])
      .when(assign('t1', 1))
      .then([assigned('t1', 1)]));

  it('a release that names no attempt gives back every slot of the task', () =>
    given([registered(3), assigned('t1', 1), assigned('t1', 2)])
      .when(release('t1', 0))
      .then([released('t1', 0)]));
});

describe('releasing a slot', () => {
  it('gives back the slot of a held task', () =>
    given([registered(), assigned('t1')])
      .when(release('t1'))
      .then([released('t1')]));

  it('ignores a release of an attempt it does not hold', () =>
    given([registered(), assigned('t1', 2)])
      .when(release('t1', 1))
      .then([]));

  it('gives back the earliest attempt held when the release does not name one', () =>
    given([registered(), assigned('t1', 3), assigned('t1', 2)])
      .when(release('t1', 'earliest'))
      .then([released('t1', 2)]));

  it('ignores a release of the earliest attempt of a task it does not hold', () =>
    given([registered(), assigned('t2', 1)])
      .when(release('t1', 'earliest'))
      .then([]));

  it('ignores a release of a task it does not hold (releases arrive at least once)', () =>
    given([registered(), assigned('t1'), released('t1')])
      .when(release('t1'))
      .then([]));

  it('ignores a release for an agent that never existed', () => given([]).when(release('t1')).then([]));

  it('ignores a release after deregistration, which dropped every slot', () =>
    given([registered(), assigned('t1'), deregistered])
      .when(release('t1'))
      .then([]));
});

describe('health', () => {
  it('an agent that misses its heartbeats becomes unhealthy and releases every task it holds', () =>
    given([registered(), assigned('t1'), assigned('t2')])
      .when(markUnhealthy)
      .then([unhealthy(['t1', 't2'])]));

  it('names each task once, whatever the number of its attempts held, and holds no slot after', () => {
    const history = [registered(3), assigned('t1', 1), assigned('t2', 1), assigned('t1', 2)];
    given(history)
      .when(markUnhealthy)
      .then([unhealthy(['t1', 't2'])]);
    expect(slotsAfter([...history, unhealthy(['t1', 't2'])])).toEqual([]);
  });

  it('records no last heartbeat for an agent never heard from', () =>
    given([registered()])
      .when({ ...markUnhealthy, lastHeartbeatAt: undefined } as AgentCommand)
      .then([{ type: 'AgentBecameUnhealthy', data: { agentId: 'a1', releasedTaskIds: [], at: stamp } }]));

  it('an unhealthy agent is not marked again', () =>
    given([registered(), unhealthy([])])
      .when(markUnhealthy)
      .then([]));

  it('a deregistered agent is not marked unhealthy', () =>
    given([registered(), deregistered]).when(markUnhealthy).then([]));

  it('an unknown agent cannot be marked unhealthy', () =>
    given([]).when(markUnhealthy).thenThrows(NotFoundError));

  it('an unhealthy agent recovers', () =>
    given([registered(), unhealthy([])])
      .when(recover)
      .then([recovered]));

  it('a healthy agent does not recover', () => given([registered()]).when(recover).then([]));

  it('a deregistered agent does not recover', () =>
    given([registered(), deregistered]).when(recover).then([]));

  it('an unknown agent cannot recover', () => given([]).when(recover).thenThrows(NotFoundError));
});

describe('draining', () => {
  const drain: AgentCommand = { type: 'DrainAgent', agentId: 'a1', at };
  it('a registered agent starts draining', () => given([registered()]).when(drain).then([draining]));
  it('a draining agent drains once', () => given([registered(), draining]).when(drain).then([]));
  it('a deregistered agent cannot drain', () =>
    given([registered(), deregistered]).when(drain).thenThrows(IllegalStateError));
  it('an unknown agent cannot drain', () => given([]).when(drain).thenThrows(NotFoundError));
});

describe('deregistration', () => {
  it('drops the tasks the agent held', () => {
    const state = fold(agentDecider, [registered(), assigned('t1'), deregistered]);
    expect(state).toMatchObject({ status: 'deregistered', reason: 'retired' });
    expect('slots' in state).toBe(false);
  });
});

describe('the status of an agent', () => {
  const statusAfter = (events: AgentEvent[]) => agentStatus(fold(agentDecider, events));
  it('is idle with no task', () => expect(statusAfter([registered()])).toBe('idle'));
  it('is busy while it holds a task', () => expect(statusAfter([registered(), assigned('t1')])).toBe('busy'));
  it('is draining before busy', () =>
    expect(statusAfter([registered(), assigned('t1'), draining])).toBe('draining'));
  it('is unhealthy before draining', () =>
    expect(statusAfter([registered(), draining, unhealthy([])])).toBe('unhealthy'));
  it('is draining again after recovering', () =>
    expect(statusAfter([registered(), draining, unhealthy([]), recovered])).toBe('draining'));
  it('is offline once deregistered, whatever else', () =>
    expect(statusAfter([registered(), draining, unhealthy([]), deregistered])).toBe('offline'));
  it('is offline before registration', () => expect(statusAfter([])).toBe('offline'));
});

describe('capacity invariant', () => {
  it('whatever the sequence of commands, an agent never holds more slots than its capacity', () => {
    const task = fc.integer({ min: 0, max: 5 }).map((i) => `t${i}`);
    const attempt = fc.integer({ min: 0, max: 3 });
    const command = fc.oneof(
      fc.tuple(task, attempt).map(([t, n]) => assign(t, n) as AgentCommand),
      fc.tuple(task, fc.oneof(attempt, fc.constant('earliest' as const))).map(([t, n]) => release(t, n)),
      fc.constant(markUnhealthy),
      fc.constant(recover),
    );
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }),
        fc.array(command, { maxLength: 60 }),
        (capacity, commands) => {
          let state = fold(agentDecider, [registered(capacity)]);
          for (const c of commands) {
            try {
              state = fold(agentDecider, agentDecider.decide(c, state), state);
            } catch {
              // A rejected command changes nothing.
            }
            const held = state.status === 'registered' ? state.slots : [];
            expect(held.length).toBeLessThanOrEqual(capacity);
            const keys = held.map((s) => `${s.taskId}#${s.attempt}`);
            expect(new Set(keys).size).toBe(keys.length);
          }
        },
      ),
    );
  });
});
