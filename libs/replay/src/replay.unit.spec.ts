import { fold } from '@orch/domain-kit';
import {
  workflowDecider,
  workflowStreamId,
  type WorkflowEvent,
  type WorkflowState,
} from '@orch/distribution';
import fc from 'fast-check';
import { Recorder, T0, later } from './history.fixtures';
import { replaySession, sharedStreamsOf, type SessionReplay } from './replay';
import type { ReplayEvent } from './replay-event';
import { SESSION, dags, playWorkflow, spec, steps, submit, WorkflowPlay } from './workflow-play.fixtures';

const replay = (sessionEvents: readonly ReplayEvent[], at: bigint): SessionReplay =>
  replaySession({ sessionId: SESSION, at, sessionEvents, sharedStreams: new Map() });

/** What the workflow view must show for a state folded directly from the domain events. */
function expectedWorkflow(state: WorkflowState) {
  if (state.status === 'unsubmitted') return { status: 'unsubmitted', tasks: [], counts: {} };
  const tasks = [...state.tasks.values()].sort((a, b) => a.seq - b.seq);
  const counts: Record<string, number> = {};
  for (const t of tasks) counts[t.status] = (counts[t.status] ?? 0) + 1;
  return {
    status: state.status,
    counts,
    tasks: tasks.map((t) => ({
      taskId: t.taskId,
      key: t.key,
      status: t.status,
      agentId: t.agentId,
      attempts: t.attempt,
      failures: t.failures,
      waitingFor: t.waitingFor,
      error: t.error,
    })),
  };
}

const shown = (r: SessionReplay) => ({
  status: r.workflow.status,
  counts: r.workflow.counts,
  tasks: r.workflow.tasks.map(({ taskId, key, status, agentId, attempts, failures, waitingFor, error }) => ({
    taskId,
    key,
    status,
    agentId,
    attempts,
    failures,
    waitingFor,
    error,
  })),
});

/** The domain events the run decided whose recorded position is at most `at`. */
function decidedUpTo(play: WorkflowPlay, at: bigint): WorkflowEvent[] {
  return play.run.decisions.flatMap((d) => d.events.filter((_, i) => d.recorded[i]!.position <= at));
}

describe('replaySession of a workflow', () => {
  it('at each of its positions shows the state folding the events up to there gives, from stored JSON', () => {
    fc.assert(
      fc.property(dags, steps, (dag, plan) => {
        const play = playWorkflow(dag, plan);
        const history = play.recorder.byCorrelation(SESSION);
        for (const e of history) {
          const r = replay(history, e.position);
          expect(shown(r)).toEqual(expectedWorkflow(fold(workflowDecider, decidedUpTo(play, e.position))));
          expect(r.events).toBe(history.filter((x) => x.position <= e.position).length);
          expect(r.at).toBe(e.position.toString());
        }
        const end = replay(history, history[history.length - 1]!.position);
        expect(end.workflow.status).not.toBe('running');
        expect(end.workflow.status).toBe((play.run.state as { status: string }).status);
        expect(end.unknownTypes).toEqual([]);
      }),
      { numRuns: 40 },
    );
  });

  it('at a position between two of its events shows the state after the earlier one', () => {
    fc.assert(
      fc.property(dags, steps, (dag, plan) => {
        const play = playWorkflow(dag, plan);
        const history = play.recorder.byCorrelation(SESSION);
        const byPosition = new Map(history.map((e) => [e.position, e]));
        let earlier: ReplayEvent | undefined;
        for (let p = 1n; p <= history[history.length - 1]!.position; p++) {
          const atEvent = byPosition.get(p);
          if (atEvent) earlier = atEvent;
          else if (earlier)
            expect({ ...replay(history, p), at: '' }).toEqual({
              ...replay(history, earlier.position),
              at: '',
            });
        }
      }),
      { numRuns: 25 },
    );
  });

  it('before its first event shows nothing submitted, and beyond its last the final state', () => {
    const play = playWorkflow([spec('a'), spec('b', ['a'])], []);
    const history = play.recorder.byCorrelation(SESSION);
    const before = replay(history, 0n);
    expect(before.events).toBe(0);
    expect(before.occurredAt).toBe('');
    expect(before.workflow).toEqual({
      status: 'unsubmitted',
      pattern: '',
      reason: '',
      tasks: [],
      counts: {},
    });
    expect(before.session.status).toBe('not_started');
    const last = history[history.length - 1]!;
    const beyond = replay(history, last.position + 100n);
    expect(beyond.workflow).toEqual(replay(history, last.position).workflow);
    expect(beyond.workflow.counts).toEqual({ succeeded: 2 });
    expect(beyond.occurredAt).toBe(last.occurredAt.toISOString().replace('.000Z', 'Z'));
  });
});

describe('replaySession with events no kind knows', () => {
  function history(): { events: ReplayEvent[]; known: ReplayEvent[] } {
    const recorder = new Recorder();
    const play = new WorkflowPlay(recorder);
    play.run.exec(submit([spec('a'), spec('b', ['a'])]), SESSION);
    const stream = workflowStreamId(SESSION);
    const meta = { correlationId: SESSION };
    // A type no code knows yet, on a known stream; a stream no kind matches; a schema version nobody reads.
    recorder.append(stream, [{ type: 'TaskTeleported', data: { taskId: 'x' } }], meta, later(1));
    recorder.append('billing-7', [{ type: 'InvoiceIssued', data: {} }], meta, later(2));
    recorder.append('billing-7', [{ type: 'InvoiceIssued', data: {} }], meta, later(3));
    const ready = play.wf.tasks.values().next().value!;
    recorder.append(
      stream,
      [
        {
          type: 'TaskCancelled',
          data: {
            sessionId: SESSION,
            taskId: ready.taskId,
            agentId: '',
            reason: 'v2',
            at: '2026-11-21T10:00:04Z',
          },
        },
      ],
      meta,
      later(4),
      'distribution',
      2,
    );
    const known = recorder
      .byCorrelation(SESSION)
      .filter((e) => e.streamId === stream && e.schemaVersion === 1 && e.type !== 'TaskTeleported');
    return { events: recorder.byCorrelation(SESSION), known };
  }

  it('skips them, lists each once, and folds the rest as if they were not there', () => {
    const { events, known } = history();
    const at = events[events.length - 1]!.position;
    const r = replay(events, at);
    expect(r.unknownTypes).toEqual(['InvoiceIssued', 'TaskCancelled (schema version 2)', 'TaskTeleported']);
    expect(r.events).toBe(events.length);
    expect(r.workflow).toEqual(replay(known, at).workflow);
    expect(r.workflow.counts).toEqual({ ready: 1, pending: 1 });
  });

  it('reports only those at or before the position', () => {
    const { events } = history();
    const teleported = events.find((e) => e.type === 'TaskTeleported')!;
    expect(replay(events, teleported.position).unknownTypes).toEqual(['TaskTeleported']);
    expect(replay(events, teleported.position - 1n).unknownTypes).toEqual([]);
  });
});

describe('sharedStreamsOf', () => {
  it('names the agent and allocator streams the history touches, in the order it first does', () => {
    const recorder = new Recorder();
    const meta = { correlationId: SESSION };
    recorder.append(workflowStreamId(SESSION), [{ type: 'WorkflowSubmitted', data: {} }], meta, T0);
    recorder.append('agent-b', [{ type: 'AgentTaskAssigned', data: {} }], meta, T0);
    recorder.append('resources-allocator', [{ type: 'ResourcesAllocated', data: {} }], meta, T0);
    recorder.append(`session-${SESSION}`, [{ type: 'SessionStarted', data: {} }], meta, T0);
    recorder.append(
      `session-${SESSION}-context-plan`,
      [{ type: 'SessionContextUpdated', data: {} }],
      meta,
      T0,
    );
    recorder.append('agent-a', [{ type: 'AgentTaskAssigned', data: {} }], meta, T0);
    recorder.append('agent-b', [{ type: 'AgentTaskReleased', data: {} }], meta, T0);
    recorder.append('billing-7', [{ type: 'InvoiceIssued', data: {} }], meta, T0);
    expect(sharedStreamsOf(recorder.log)).toEqual(['agent-b', 'resources-allocator', 'agent-a']);
  });
});
