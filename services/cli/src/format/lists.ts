import { num, record, records, str, strings, type Doc } from '../documents';
import { plain, statusColour, type Style } from './style';
import { shortId, table } from './table';
import { formatDuration, parseTime } from './time';

/** `orchestrator sessions`: one line per session, newest first as the gateway lists them. */
export function renderSessions(sessions: readonly Doc[], style: Style = plain): string[] {
  return table(
    sessions,
    [
      { header: 'id', value: (s) => str(s, 'id') },
      {
        header: 'status',
        value: (s) => str(s, 'status'),
        style: (s, st) => statusColour(st, str(s, 'status')),
      },
      { header: 'pattern', value: (s) => str(s, 'pattern') },
      { header: 'tasks', value: (s) => taskProgress(s), align: 'right' },
      {
        header: 'started',
        value: (s) => parseTime(s['startedAt'])?.toISOString().slice(0, 19).replace('T', ' ') ?? '-',
      },
      { header: 'took', value: (s) => duration(s), align: 'right' },
      { header: 'goal', value: (s) => str(s, 'goal'), maxWidth: 60 },
    ],
    { style, indent: '', empty: 'no sessions' },
  );
}

/** `3/5`: tasks finished successfully out of all. */
function taskProgress(session: Doc): string {
  const counts = record(session['counts']);
  const total = Object.values(counts).reduce<number>(
    (sum, v) => sum + (typeof v === 'number' ? v : Number(v) || 0),
    0,
  );
  const tasks = total > 0 ? total : records(session['tasks']).length;
  const done =
    num(counts, 'succeeded') ??
    records(session['tasks']).filter((t) => str(t, 'status') === 'succeeded').length;
  return `${done}/${tasks}`;
}

function duration(session: Doc): string {
  const started = parseTime(session['startedAt']);
  const ended = parseTime(session['endedAt']);
  return started && ended ? formatDuration(ended.getTime() - started.getTime()) : '-';
}

/** `orchestrator agents`: one line per agent, in registration order. */
export function renderAgents(agents: readonly Doc[], style: Style = plain): string[] {
  return table(
    agents,
    [
      { header: 'id', value: (a) => str(a, 'id') },
      { header: 'name', value: (a) => str(a, 'name') },
      { header: 'provider', value: (a) => [str(a, 'provider'), str(a, 'model')].filter(Boolean).join('/') },
      {
        header: 'status',
        value: (a) => str(a, 'status'),
        style: (a, s) => statusColour(s, str(a, 'status')),
      },
      {
        header: 'tasks',
        value: (a) => `${str(a, 'activeTasks') || '0'}/${str(a, 'maxConcurrency') || '?'}`,
        align: 'right',
      },
      {
        header: 'circuit',
        value: (a) => str(a, 'circuit'),
        style: (a, s) => statusColour(s, str(a, 'circuit')),
      },
      {
        header: 'capabilities',
        value: (a) =>
          records(a['capabilities'])
            .map((c) => str(c, 'name'))
            .concat(strings(a['capabilities']))
            .join(','),
        maxWidth: 50,
      },
    ],
    { style, indent: '', empty: 'no agents' },
  );
}

/** The outcome of a session `submit --wait` followed: its status, reason and tasks. */
export function renderOutcome(session: Doc, style: Style = plain): string[] {
  const status = str(session, 'status');
  const took = duration(session);
  const lines = [
    `session ${str(session, 'id')} ${statusColour(style, status)(status)}${took === '-' ? '' : ` in ${took}`}`,
  ];
  if (str(session, 'reason')) lines.push(`  reason: ${str(session, 'reason')}`);
  lines.push(
    ...table(
      records(session['tasks']),
      [
        { header: 'key', value: (t) => str(t, 'key') || shortId(str(t, 'taskId')) },
        {
          header: 'status',
          value: (t) => str(t, 'status'),
          style: (t, s) => statusColour(s, str(t, 'status')),
        },
        { header: 'agent', value: (t) => shortId(str(t, 'agentId')) || '-' },
        { header: 'attempts', value: (t) => str(t, 'attempts') || '0', align: 'right' },
        { header: 'error', value: (t) => str(t, 'error'), maxWidth: 70 },
      ],
      { style },
    ),
  );
  return lines;
}
