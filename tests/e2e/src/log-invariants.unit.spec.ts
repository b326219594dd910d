import {
  checkAttempts,
  checkRunningAttempts,
  checkSessionEnds,
  checkSlots,
  heldSlots,
  type LoggedEvent,
} from './log-invariants';

type Unplaced = Omit<LoggedEvent, 'position'>;

/** The events at global positions 1, 2, 3... */
const inOrder = (...events: Unplaced[]): LoggedEvent[] => events.map((e, i) => ({ ...e, position: i + 1 }));

const onAgent = (type: string, agentId: string, data: Record<string, unknown> = {}): Unplaced => ({
  streamId: `agent-${agentId}`,
  type,
  data: { agentId, ...data },
});
const registered = (agentId: string, maxConcurrency: number) =>
  onAgent('AgentRegistered', agentId, { maxConcurrency });
/** A slot event; without an attempt, as recorded before slots carried attempts. */
const slot = (agentId: string, taskId: string, attempt?: number) =>
  onAgent('AgentTaskAssigned', agentId, { taskId, ...(attempt === undefined ? {} : { attempt }) });
const released = (agentId: string, taskId: string, attempt?: number) =>
  onAgent('AgentTaskReleased', agentId, { taskId, ...(attempt === undefined ? {} : { attempt }) });

const onWorkflow = (type: string, data: Record<string, unknown> = {}): Unplaced => ({
  streamId: 'workflow-s1',
  type,
  data: { sessionId: 's1', ...data },
});
const assigned = (taskId: string, agentId: string, attempt: number) =>
  onWorkflow('TaskAssigned', { taskId, agentId, attempt });
const ended = (type: string, taskId: string, agentId: string, attempt: number) =>
  onWorkflow(type, { taskId, agentId, attempt });

describe('checkAttempts', () => {
  it('accepts a retry on another agent once the first attempt ended, and a hand-off', () => {
    const log = inOrder(
      assigned('t1', 'a', 1),
      ended('TaskFailed', 't1', 'a', 1),
      assigned('t1', 'b', 2),
      onWorkflow('TaskHandedOff', { taskId: 't1', fromAgentId: 'b' }),
      assigned('t1', 'c', 3),
      ended('TaskSucceeded', 't1', 'c', 3),
    );
    expect(checkAttempts(log)).toEqual([]);
  });

  it('flags a task assigned again while its attempt is open, with the task events', () => {
    const log = inOrder(assigned('t1', 'a', 1), assigned('t1', 'b', 1));
    expect(checkAttempts(log)).toEqual([
      expect.stringMatching(
        /one agent per task.*t1[\s\S]*#1 TaskAssigned task=t1 agent=a[\s\S]*#2 TaskAssigned task=t1 agent=b/,
      ),
    ]);
  });

  it('flags an end event of another agent that does not end the open attempt', () => {
    const log = inOrder(assigned('t1', 'a', 1), ended('TaskFailed', 't1', 'b', 1), assigned('t1', 'b', 2));
    expect(checkAttempts(log)).toEqual([expect.stringContaining('one agent per task')]);
  });

  it('flags a success from an agent or attempt other than the last assignment', () => {
    const log = inOrder(
      assigned('t1', 'a', 1),
      ended('TaskTimedOut', 't1', 'a', 1),
      assigned('t1', 'b', 2),
      ended('TaskSucceeded', 't1', 'a', 1),
    );
    expect(checkAttempts(log)).toEqual([expect.stringContaining('[success by holder] task t1')]);
  });
});

describe('checkSlots and heldSlots', () => {
  it('accepts slots up to the capacity, given back by release and by becoming unhealthy', () => {
    const log = inOrder(
      registered('a', 2),
      slot('a', 't1'),
      slot('a', 't2'),
      released('a', 't1'),
      slot('a', 't3'),
      onAgent('AgentBecameUnhealthy', 'a'),
      slot('a', 't4'),
      slot('a', 't5'),
    );
    expect(checkSlots(log)).toEqual([]);
    expect(heldSlots(log)).toEqual([expect.stringMatching(/agent a still holds 2 slots:[\s\S]*t4[\s\S]*t5/)]);
  });

  it('flags a slot taken beyond the capacity, with the slots held', () => {
    const log = inOrder(registered('a', 1), slot('a', 't1'), slot('a', 't2'));
    expect(checkSlots(log)).toEqual([
      expect.stringMatching(/capacity\] agent a holds 2 slots, maxConcurrency 1:[\s\S]*#2[\s\S]*#3/),
    ]);
  });

  it('finds no slot held once every slot was released', () => {
    const log = inOrder(registered('a', 1), slot('a', 't1'), released('a', 't1'));
    expect(heldSlots(log)).toEqual([]);
  });

  it("folds slots per attempt: the late release of attempt 1 leaves attempt 2's slot held", () => {
    const log = inOrder(registered('a', 2), slot('a', 't1', 1), slot('a', 't1', 2), released('a', 't1', 1));
    expect(checkSlots(log)).toEqual([]);
    expect(heldSlots(log)).toEqual([
      expect.stringMatching(
        /agent a still holds 1 slots:\n    #3 AgentTaskAssigned task=t1 agent=a attempt=2$/,
      ),
    ]);
    expect(heldSlots([...log, { ...released('a', 't1', 2), position: 5 }])).toEqual([]);
  });

  it('counts both attempts of a task against the capacity, and a release without attempt frees both', () => {
    const over = inOrder(registered('a', 1), slot('a', 't1', 1), slot('a', 't1', 2));
    expect(checkSlots(over)).toEqual([expect.stringContaining('agent a holds 2 slots, maxConcurrency 1')]);
    const log = inOrder(registered('a', 2), slot('a', 't1', 1), slot('a', 't1', 2), released('a', 't1'));
    expect(heldSlots(log)).toEqual([]);
  });
});

describe('checkRunningAttempts', () => {
  it('accepts attempts up to the capacity, and forgets those of an agent that became unhealthy', () => {
    const log = inOrder(
      registered('a', 1),
      assigned('t1', 'a', 1),
      ended('TaskSucceeded', 't1', 'a', 1),
      assigned('t2', 'a', 1),
      onAgent('AgentBecameUnhealthy', 'a'),
      assigned('t3', 'a', 1),
    );
    expect(checkRunningAttempts(log)).toEqual([]);
  });

  it("flags a retry that runs on its agent's old slot once the late release of the failed attempt gave it away", () => {
    const log = inOrder(
      registered('a', 1),
      slot('a', 't1'),
      assigned('t1', 'a', 1),
      ended('TaskFailed', 't1', 'a', 1),
      assigned('t1', 'a', 2), // AssignAgent answered with the slot attempt 1 still held
      released('a', 't1'), // coordination's reaction to TaskFailed of attempt 1
      slot('a', 't2'),
      assigned('t2', 'a', 1),
    );
    expect(checkSlots(log)).toEqual([]);
    expect(checkRunningAttempts(log)).toEqual([
      [
        '[running attempts] agent a runs 2 attempts, maxConcurrency 1:',
        '    #5 TaskAssigned task=t1 agent=a attempt=2 session=s1',
        '      slot: #6 AgentTaskReleased task=t1 agent=a',
        '    #8 TaskAssigned task=t2 agent=a attempt=1 session=s1',
        '      slot: #7 AgentTaskAssigned task=t2 agent=a',
      ].join('\n'),
    ]);
  });

  it("pairs a running attempt with its own attempt's slot, not the release of an earlier attempt", () => {
    const log = inOrder(
      registered('a', 1),
      slot('a', 't1', 1),
      assigned('t1', 'a', 1),
      ended('TaskFailed', 't1', 'a', 1),
      slot('a', 't1', 2),
      assigned('t1', 'a', 2),
      released('a', 't1', 1),
      slot('a', 't2', 1),
      assigned('t2', 'a', 1),
    );
    expect(checkRunningAttempts(log)).toEqual([
      [
        '[running attempts] agent a runs 2 attempts, maxConcurrency 1:',
        '    #6 TaskAssigned task=t1 agent=a attempt=2 session=s1',
        '      slot: #5 AgentTaskAssigned task=t1 agent=a attempt=2',
        '    #9 TaskAssigned task=t2 agent=a attempt=1 session=s1',
        '      slot: #8 AgentTaskAssigned task=t2 agent=a attempt=1',
      ].join('\n'),
    ]);
  });
});

describe('checkSessionEnds', () => {
  const closed = (sessionId: string): Unplaced => ({
    streamId: `session-${sessionId}`,
    type: 'SessionClosed',
    data: { sessionId },
  });

  it('accepts one terminal workflow event and one SessionClosed per session', () => {
    const log = inOrder(assigned('t1', 'a', 1), onWorkflow('WorkflowCompleted'), closed('s1'));
    expect(checkSessionEnds(log, ['s1'])).toEqual([]);
  });

  it('flags a session that did not end, ended twice, was closed twice or assigned work after its end', () => {
    expect(checkSessionEnds(inOrder(closed('s1')), ['s1'])).toEqual([
      expect.stringContaining('session s1 has 0 terminal workflow events'),
    ]);
    const twice = inOrder(
      onWorkflow('WorkflowFailed'),
      assigned('t1', 'a', 2),
      onWorkflow('WorkflowCompleted'),
      closed('s1'),
      closed('s1'),
    );
    expect(checkSessionEnds(twice, ['s1'])).toEqual([
      expect.stringContaining('session s1 has 2 terminal workflow events'),
      expect.stringMatching(
        /session s1 assigned tasks after it ended:[\s\S]*#1 WorkflowFailed[\s\S]*#2 TaskAssigned/,
      ),
      expect.stringContaining('session s1 was closed 2 times'),
    ]);
  });
});
