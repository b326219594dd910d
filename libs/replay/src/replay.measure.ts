/**
 * How fast a long session replays, verifies and exports: one workflow of TASKS independent tasks,
 * each assigned, started, reporting PROGRESS progress events and completed (5 + PROGRESS events a
 * task; the defaults make 100,000 events: 1,000 tasks of 100 events; TASKS=20000 PROGRESS=0 makes
 * 100,000 events of 20,000 short tasks), recorded as the store keeps it. The floor beside the
 * numbers is the workflow's own evolve over the same events, without replay around it. Not a test
 * (no timing assertions anywhere): run it by hand and read the numbers.
 *
 *   node --conditions=@orch/source -r @swc-node/register libs/replay/src/replay.measure.ts
 */
import { taskByKey, toWorkflowEvent, workflowDecider, type Workflow } from '@orch/distribution';
import { parseExportLine, toExportLine } from './export-lines';
import { replaySession } from './replay';
import { verifySession } from './verify';
import { later } from './history.fixtures';
import { SESSION, WorkflowPlay, policy, selection, spec, submit } from './workflow-play.fixtures';

const TASKS = Number(process.env['TASKS'] ?? 1_000);
const PROGRESS = Number(process.env['PROGRESS'] ?? 95);
const RUNS = 5;

const play = new WorkflowPlay();
const keys = Array.from({ length: TASKS }, (_, i) => `t${i}`);
play.run.exec(submit(keys.map((k) => spec(k))), SESSION);
let ms = 0;
for (const key of keys) {
  const t = taskByKey(play.run.state as Workflow, key)!;
  const agentId = `agent-${ms % 7}`;
  const at = later(++ms);
  play.run.exec(
    {
      type: 'MarkAssigned',
      taskId: t.taskId,
      agentId,
      attempt: 1,
      deadline: later(60_000, at),
      selection: selection(agentId),
      at,
    },
    SESSION,
  );
  play.run.exec({ type: 'StartTask', taskId: t.taskId, agentId, at: later(++ms) }, SESSION);
  for (let p = 1; p <= PROGRESS; p++)
    play.run.exec(
      {
        type: 'ReportTaskProgress',
        taskId: t.taskId,
        agentId,
        percent: p,
        message: `step ${p}`,
        at: later(++ms),
      },
      SESSION,
    );
  play.run.exec(
    {
      type: 'CompleteTask',
      taskId: t.taskId,
      agentId,
      output: { ok: true },
      usage: { inputTokens: '100', outputTokens: '20', costUsd: 0.001 },
      policy,
      jitter: 0,
      at: later(++ms),
    },
    SESSION,
  );
}
const history = play.recorder.byCorrelation(SESSION);
const last = history[history.length - 1]!.position;

/**
 * The median of RUNS timings of `f`: wall-clock ms, and the CPU ms the process spent (user and
 * system, GC threads included), which a busy machine inflates less.
 */
function median(f: () => unknown): { wall: number; cpu: number } {
  const walls: number[] = [];
  const cpus: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const cpu = process.cpuUsage();
    const started = performance.now();
    f();
    walls.push(performance.now() - started);
    const used = process.cpuUsage(cpu);
    cpus.push((used.user + used.system) / 1000);
  }
  const mid = (xs: number[]): number => xs.sort((a, b) => a - b)[Math.floor(RUNS / 2)]!;
  return { wall: mid(walls), cpu: mid(cpus) };
}

const rate = (n: number, ms: number): string => `${Math.round(n / (ms / 1000)).toLocaleString('en')}/s`;
/** `1234 ms wall, 456 ms CPU (n/s by CPU)`. */
const timed = (t: { wall: number; cpu: number }, n: number, what: string): string =>
  `${t.wall.toFixed(0)} ms wall, ${t.cpu.toFixed(0)} ms CPU (${rate(n, t.cpu)} ${what} by CPU time)`;

const floor = median(() => {
  let state = workflowDecider.initialState();
  for (const e of history) state = workflowDecider.evolve(state, toWorkflowEvent(e.type, e.data)!);
  return state;
});
let status = '';
const replayed = median(() => {
  status = replaySession({ sessionId: SESSION, at: last, sessionEvents: history, sharedStreams: new Map() })
    .workflow.status;
});
const half = median(() =>
  replaySession({ sessionId: SESSION, at: last / 2n, sessionEvents: history, sharedStreams: new Map() }),
);
let divergences = -1;
const streams = play.recorder.streamsOf(SESSION);
const verified = median(() => {
  divergences = verifySession({ sessionId: SESSION, streams }).divergences.length;
});
let lines: string[] = [];
const exported = median(() => {
  lines = history.map(toExportLine);
});
const imported = median(() => lines.map((l, i) => parseExportLine(l, i + 1)));

process.stdout.write(
  [
    `session: ${TASKS} tasks, ${history.length} events, ${play.run.decisions.length} decisions; final status ${status}`,
    `the workflow's evolve alone over them (the floor): ${timed(floor, history.length, 'events')}`,
    `replay to the last position: ${timed(replayed, history.length, 'events')}`,
    `replay to the middle: ${timed(half, history.length / 2, 'events')}`,
    `verify: ${timed(verified, history.length, 'events')}, ${divergences} divergences`,
    `export lines: ${timed(exported, lines.length, 'lines')}`,
    `parse them back: ${timed(imported, lines.length, 'lines')}`,
  ].join('\n') + '\n',
);
