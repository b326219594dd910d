import {
  agentDecider,
  agentStreamId,
  sessionDecider,
  sessionStreamId,
  type AgentCommand,
  type AgentEvent,
  type AgentState,
  type StartSession,
} from '@orch/coordination';
import {
  workflowDecider,
  workflowStreamId,
  type WorkflowCommand,
  type WorkflowEvent,
  type WorkflowState,
} from '@orch/distribution';
import { IllegalStateError, type Decider } from '@orch/domain-kit';
import fc from 'fast-check';
import { Recorder, StreamRun, T0, later } from './history.fixtures';
import type { ReplayEvent } from './replay-event';
import { defaultStreamKinds, type StreamKind } from './stream-kinds';
import { verifySession } from './verify';
import {
  SESSION,
  WorkflowPlay,
  dags,
  playWorkflow,
  policy,
  selection,
  spec,
  steps,
  submit,
} from './workflow-play.fixtures';

type WorkflowDecider = Decider<WorkflowCommand, WorkflowEvent, WorkflowState>;

/** The default kinds with the decider of kind `name` swapped for `decider`. */
const kindsWith = (name: string, decider: Decider<never, unknown, unknown>): StreamKind[] =>
  defaultStreamKinds().map((k) =>
    k.name === name ? { ...k, decider: decider as StreamKind['decider'] } : k,
  );

/** Today's workflow decider, changed by `change` applied to what the real one decides. */
const changedWorkflow = (change: (events: readonly WorkflowEvent[]) => WorkflowEvent[]): WorkflowDecider => ({
  ...workflowDecider,
  decide: (command, state) => change(workflowDecider.decide(command, state)),
});

/** A decider that no longer emits TaskReady. */
const withoutReady = changedWorkflow((events) => events.filter((e) => e.type !== 'TaskReady'));

/** A decider whose retries wait twice as long. */
const slowerRetries = changedWorkflow((events) =>
  events.map((e) =>
    e.type === 'TaskRetryScheduled' ? { ...e, data: { ...e.data, delayMs: e.data.delayMs * 2 } } : e,
  ),
);

const verifyPlay = (play: WorkflowPlay, kinds?: readonly StreamKind[]) =>
  verifySession({ sessionId: SESSION, streams: play.recorder.streamsOf(SESSION) }, kinds);

/** Positions of the recorded decisions whose events include one of `type`. */
const decisionsWith = (play: WorkflowPlay, type: string): bigint[] =>
  play.run.decisions.filter((d) => d.events.some((e) => e.type === type)).map((d) => d.recorded[0]!.position);

describe('verifySession on random workflows', () => {
  it('finds no divergence with the deciders that recorded them, checking every decision', () => {
    fc.assert(
      fc.property(dags, steps, (dag, plan) => {
        const play = playWorkflow(dag, plan);
        const report = verifyPlay(play);
        expect(report.divergences).toEqual([]);
        expect(report.checked).toBe(play.run.decisions.length);
        expect(report.skipped).toBe(0);
        expect(report.unknownTypes).toEqual([]);
      }),
      { numRuns: 150 },
    );
  });

  it('finds a divergence at exactly the decisions a decider that drops TaskReady changes', () => {
    fc.assert(
      fc.property(dags, steps, (dag, plan) => {
        const play = playWorkflow(dag, plan);
        const report = verifyPlay(play, kindsWith('workflow', withoutReady));
        const changed = decisionsWith(play, 'TaskReady');
        expect(report.divergences.map((d) => d.position)).toEqual(changed);
        expect(report.divergences[0]!.position).toBe(play.run.decisions[0]!.recorded[0]!.position);
        for (const d of report.divergences) {
          expect(d.streamId).toBe(workflowStreamId(SESSION));
          expect(d.reason).toMatch(
            /^today's decider emits (no events|1 event|\d+ events) where \d+ (was|were) recorded \(not emitted: TaskReady/,
          );
          expect(d.actual).toEqual(d.expected.filter((e) => e.type !== 'TaskReady'));
        }
        expect(report.checked).toBe(play.run.decisions.length);
      }),
      { numRuns: 100 },
    );
  });

  it('finds a divergence at exactly the decisions a changed retry delay changes, the first one first', () => {
    fc.assert(
      fc.property(dags, steps, (dag, plan) => {
        const play = playWorkflow(dag, plan);
        const report = verifyPlay(play, kindsWith('workflow', slowerRetries));
        const changed = decisionsWith(play, 'TaskRetryScheduled');
        expect(report.divergences.map((d) => d.position)).toEqual(changed);
        const first = play.run.decisions.find((d) => d.events.some((e) => e.type === 'TaskRetryScheduled'));
        if (first) {
          const d = report.divergences[0]!;
          expect(d.position).toBe(first.recorded[0]!.position);
          expect(d.command).toBe(first.command.type);
          expect(d.expected).toEqual(first.recorded.map((e) => ({ type: e.type, data: e.data })));
          const recorded = first.events.find((e) => e.type === 'TaskRetryScheduled')!;
          if (recorded.type !== 'TaskRetryScheduled') throw new Error('unreachable');
          expect(d.reason).toContain(
            `emits TaskRetryScheduled with delayMs ${recorded.data.delayMs * 2} where ${recorded.data.delayMs} was recorded`,
          );
        }
      }),
      { numRuns: 100 },
    );
  });
});

describe('verifySession reasons', () => {
  /** A workflow of one task, assigned and failed once: a retry is scheduled. */
  function failedOnce(): WorkflowPlay {
    const play = new WorkflowPlay();
    play.run.exec(submit([spec('a')]), SESSION);
    const a = [...play.wf.tasks.values()][0]!;
    play.run.exec(
      {
        type: 'MarkAssigned',
        taskId: a.taskId,
        agentId: 'agent-0',
        attempt: 1,
        deadline: later(60_000),
        selection: selection('agent-0'),
        at: later(1),
      },
      SESSION,
    );
    play.run.exec(
      {
        type: 'FailTask',
        taskId: a.taskId,
        agentId: 'agent-0',
        error: 'boom',
        retryable: true,
        policy,
        jitter: 0.25,
        at: later(2),
      },
      SESSION,
    );
    return play;
  }

  it('names a different count and the types not emitted', () => {
    const report = verifyPlay(failedOnce(), kindsWith('workflow', withoutReady));
    expect(report.divergences).toHaveLength(1);
    expect(report.divergences[0]!.reason).toBe(
      "today's decider emits 2 events where 3 were recorded (not emitted: TaskReady)",
    );
    expect(report.divergences[0]!.command).toBe('SubmitWorkflow');
  });

  it('names a different type in place of the recorded one', () => {
    const renamed = changedWorkflow((events) =>
      events.map((e) =>
        e.type === 'TaskAssigned' ? ({ ...e, type: 'TaskReady' } as unknown as WorkflowEvent) : e,
      ),
    );
    const report = verifyPlay(failedOnce(), kindsWith('workflow', renamed));
    expect(report.divergences.map((d) => d.reason)).toEqual([
      "today's decider emits TaskReady where TaskAssigned was recorded",
    ]);
    expect(report.divergences[0]!.command).toBe('MarkAssigned');
  });

  it('names the field whose value differs, with both values', () => {
    const report = verifyPlay(failedOnce(), kindsWith('workflow', slowerRetries));
    const [d] = report.divergences;
    const recorded = d!.expected[1]!.data as { delayMs: number };
    expect(d!.reason).toBe(
      `today's decider emits TaskRetryScheduled with delayMs ${recorded.delayMs * 2} where ${recorded.delayMs} was recorded (event 2 of 2)`,
    );
    expect((d!.actual[1]!.data as { delayMs: number }).delayMs).toBe(recorded.delayMs * 2);
  });

  it('reports a decider that now rejects the command, with its message and no events', () => {
    const strict: WorkflowDecider = {
      ...workflowDecider,
      decide(command, state) {
        if (command.type === 'FailTask') throw new IllegalStateError('failures are no longer accepted');
        return workflowDecider.decide(command, state);
      },
    };
    const play = failedOnce();
    const report = verifyPlay(play, kindsWith('workflow', strict));
    expect(report.divergences).toEqual([
      {
        position: play.run.decisions[2]!.recorded[0]!.position,
        streamId: workflowStreamId(SESSION),
        command: 'FailTask',
        expected: play.run.decisions[2]!.recorded.map((e) => ({ type: e.type, data: e.data })),
        actual: [],
        reason: "today's decider rejects the command: failures are no longer accepted",
      },
    ]);
    expect(report.checked).toBe(3);
  });

  it('decides again on the recorded state even after a divergence (folding what was recorded)', () => {
    // Without TaskReady folded, the MarkAssigned after it would be rejected (the task is not ready).
    const report = verifyPlay(failedOnce(), kindsWith('workflow', withoutReady));
    expect(report.divergences.map((d) => d.command)).toEqual(['SubmitWorkflow']);
    expect(report.checked).toBe(3);
  });
});

describe('verifySession on history recorded before commands were', () => {
  it('skips and counts the groups without a decision, and checks the rest', () => {
    const play = new WorkflowPlay();
    play.run.exec(submit([spec('a'), spec('b', ['a'])]), SESSION, { legacy: true });
    const [a] = [...play.wf.tasks.values()];
    play.run.exec(
      {
        type: 'MarkAssigned',
        taskId: a!.taskId,
        agentId: 'agent-0',
        attempt: 1,
        deadline: later(60_000),
        selection: selection('agent-0'),
        at: later(1),
      },
      SESSION,
      { legacy: true },
    );
    play.run.exec({ type: 'StartTask', taskId: a!.taskId, agentId: 'agent-0', at: later(2) }, SESSION);
    const report = verifyPlay(play, kindsWith('workflow', withoutReady));
    expect(report.skipped).toBe(2);
    expect(report.checked).toBe(1);
    // The legacy submission emitted TaskReady, but it is not decided again.
    expect(report.divergences).toEqual([]);
  });

  it('reports event types no kind knows, on known and unknown streams, without throwing', () => {
    const play = playWorkflow([spec('a')], []);
    const meta = { correlationId: SESSION, decision: { type: 'Bill', at: { $date: T0.toISOString() } } };
    play.recorder.append('billing-7', [{ type: 'InvoiceIssued', data: {} }], meta, T0);
    play.recorder.append(
      workflowStreamId(SESSION),
      [{ type: 'TaskTeleported', data: {} }],
      { correlationId: SESSION },
      later(99),
    );
    const report = verifyPlay(play);
    expect(report.unknownTypes).toEqual(['InvoiceIssued', 'TaskTeleported']);
    // TaskTeleported has no decision: it joins the last decision's group, which today's code does not emit.
    expect(report.divergences).toHaveLength(1);
    expect(report.divergences[0]!.reason).toMatch(/not emitted: TaskTeleported/);
    expect(report.checked).toBe(play.run.decisions.length);
  });

  it('sorts a stream given out of version order', () => {
    const play = playWorkflow([spec('a'), spec('b', ['a'])], []);
    const streams = play.recorder.streamsOf(SESSION);
    const reversed = new Map([...streams].map(([id, events]) => [id, [...events].reverse()]));
    expect(verifySession({ sessionId: SESSION, streams: reversed })).toEqual(
      verifySession({ sessionId: SESSION, streams }),
    );
    expect(verifySession({ sessionId: SESSION, streams: reversed }).divergences).toEqual([]);
  });
});

// ---------------------------------------------------------------- shared streams

const OTHER = 'a1b2c3d4-0000-4000-8000-000000000002';

function registration(agentId: string, maxConcurrency: number): AgentCommand {
  return {
    type: 'RegisterAgent',
    agentId,
    name: agentId,
    provider: 'anthropic',
    model: 'claude',
    capabilities: [{ name: 'code', level: 0.9 }],
    maxConcurrency,
    cost: { per1kInputTokensUsd: 0.003, per1kOutputTokensUsd: 0.015 },
    labels: {},
    agentType: 'generic',
    at: T0,
  };
}

const assignTo = (agentId: string, taskId: string, sessionId: string, ms: number): AgentCommand => ({
  type: 'AssignTask',
  agentId,
  taskId,
  attempt: 1,
  sessionId,
  selection: selection(agentId),
  at: later(ms),
});

const releaseFrom = (agentId: string, taskId: string, ms: number): AgentCommand => ({
  type: 'ReleaseTask',
  agentId,
  taskId,
  attempt: 1,
  reason: 'TaskSucceeded',
  at: later(ms),
});

/** One agent of capacity 3 shared by two sessions: OTHER takes x1 and x2, releases x1, then SESSION takes s1. */
function sharedAgent() {
  const recorder = new Recorder();
  const agent = new StreamRun(recorder, agentStreamId('agent-a'), agentDecider, 'coordination');
  agent.exec(registration('agent-a', 3), 'fleet');
  agent.exec(assignTo('agent-a', 'x1', OTHER, 1), OTHER);
  agent.exec(assignTo('agent-a', 'x2', OTHER, 2), OTHER);
  agent.exec(releaseFrom('agent-a', 'x1', 3), OTHER);
  agent.exec(assignTo('agent-a', 's1', SESSION, 4), SESSION);
  agent.exec(assignTo('agent-a', 'x3', OTHER, 5), OTHER);
  agent.exec(releaseFrom('agent-a', 's1', 6), SESSION);
  return { recorder, agent };
}

describe('verifySession on a shared stream', () => {
  it('folds the other sessions events too, so the state before the session decision is right', () => {
    const { recorder } = sharedAgent();
    const seen: AgentState[] = [];
    const spy: Decider<AgentCommand, AgentEvent, AgentState> = {
      ...agentDecider,
      decide(command, state) {
        seen.push(state);
        return agentDecider.decide(command, state);
      },
    };
    const report = verifySession(
      { sessionId: SESSION, streams: recorder.streamsOf(SESSION) },
      kindsWith('agent', spy),
    );
    expect(report.divergences).toEqual([]);
    expect(report.checked).toBe(2);
    const [beforeAssign, beforeRelease] = seen;
    expect(beforeAssign?.status === 'registered' && beforeAssign.slots).toEqual([
      { taskId: 'x2', attempt: 1 },
    ]);
    expect(beforeRelease?.status === 'registered' && beforeRelease.slots).toEqual([
      { taskId: 'x2', attempt: 1 },
      { taskId: 's1', attempt: 1 },
      { taskId: 'x3', attempt: 1 },
    ]);
  });

  it('checks only the session decisions', () => {
    const { recorder, agent } = sharedAgent();
    const noted: Decider<AgentCommand, AgentEvent, AgentState> = {
      ...agentDecider,
      decide: (command, state) =>
        agentDecider
          .decide(command, state)
          .map((e) =>
            e.type === 'AgentTaskAssigned' || e.type === 'AgentTaskReleased'
              ? ({ ...e, data: { ...e.data, attempt: 9 } } as AgentEvent)
              : e,
          ),
    };
    const report = verifySession(
      { sessionId: SESSION, streams: recorder.streamsOf(SESSION) },
      kindsWith('agent', noted),
    );
    const mine = agent.decisions.filter((d) => d.recorded[0]!.metadata['correlationId'] === SESSION);
    expect(report.divergences.map((d) => d.position)).toEqual(mine.map((d) => d.recorded[0]!.position));
    expect(report.divergences.map((d) => d.reason)).toEqual([
      "today's decider emits AgentTaskAssigned with attempt 9 where 1 was recorded",
      "today's decider emits AgentTaskReleased with attempt 9 where 1 was recorded",
    ]);
    // The other session's verify sees its own four decisions (and not the registration).
    expect(
      verifySession({ sessionId: OTHER, streams: recorder.streamsOf(OTHER) }, kindsWith('agent', noted))
        .checked,
    ).toBe(4);
  });
});

// ---------------------------------------------------------------- sessions

describe('verifySession on a session stream', () => {
  const start: StartSession = {
    type: 'StartSession',
    sessionId: SESSION,
    goal: 'ship the feature',
    pattern: 'swarm',
    tasks: [spec('a')],
    agentIds: ['agent-a'],
    budgetUsd: 10,
    strategy: '',
    maxRounds: 0,
    resolved: {
      pattern: 'swarm',
      reason: '',
      roles: { soloAgentId: '', driverAgentId: '', navigatorAgentId: '', supervisorAgentId: '' },
    },
    fleet: { offers: (c) => c === 'code', isRegistered: (id) => id === 'agent-a' },
    at: T0,
  };

  function started(): Map<string, readonly ReplayEvent[]> {
    const recorder = new Recorder();
    const session = new StreamRun(recorder, sessionStreamId(SESSION), sessionDecider, 'coordination');
    session.exec(start, SESSION);
    session.exec(
      { type: 'CloseSession', sessionId: SESSION, status: 'completed', reason: '', at: later(5) },
      SESSION,
    );
    return recorder.streamsOf(SESSION);
  }

  it('decides a recorded start again, the fleet taken as it was (its facts are not recorded)', () => {
    const report = verifySession({ sessionId: SESSION, streams: started() });
    expect(report.divergences).toEqual([]);
    expect(report.checked).toBe(2);
  });

  it('could not without restoring the fleet facts', () => {
    const kinds = defaultStreamKinds().map((k) => (k.name === 'session' ? { ...k, command: undefined } : k));
    const report = verifySession({ sessionId: SESSION, streams: started() }, kinds);
    expect(report.divergences.map((d) => d.command)).toEqual(['StartSession']);
    expect(report.divergences[0]!.reason).toMatch(/^today's decider rejects the command: /);
  });
});
