import { num, record, records, str, strings, type Doc, type ReplayDoc } from '../documents';
import { plain, statusColour, type Style } from './style';
import { Names, quote } from './summary';
import { shortId, table } from './table';

/**
 * The replayed state of a session as a person reads it: the session line, then tables of its
 * tasks, the agents it touched, what its tasks held and waited for, and its open conflicts.
 * Ids are shown as task keys and agent names where the history gave them.
 */
export function renderState(replay: ReplayDoc, names: Names, style: Style = plain): string[] {
  names.learnFromState(replay.tasks, replay.agents);
  const lines: string[] = [];
  const folded = replay.events === undefined ? '' : ` (${replay.events} session events folded)`;
  lines.push(style.bold(`State at #${replay.at}${folded}`));
  lines.push(...sessionLines(replay, style));
  lines.push('', heading(`Tasks (${replay.tasks.length})`, style), ...tasksTable(replay.tasks, names, style));
  lines.push(
    '',
    heading(`Agents (${replay.agents.length})`, style),
    ...agentsTable(replay.agents, names, style),
  );
  lines.push(
    '',
    heading(`Allocations (${replay.allocations.length})`, style),
    ...allocationsTable(replay.allocations, names, style),
  );
  lines.push(
    '',
    heading(`Waiters (${replay.waiters.length})`, style),
    ...waitersTable(replay.waiters, names, style),
  );
  lines.push(
    '',
    heading(`Open conflicts (${replay.conflicts.length})`, style),
    ...conflictsTable(replay.conflicts, names, style),
  );
  if (replay.unknownTypes.length > 0) {
    lines.push('', style.yellow(`Unknown event types (skipped): ${replay.unknownTypes.join(', ')}`));
  }
  return lines;
}

const heading = (text: string, style: Style): string => style.bold(text);

function sessionLines(replay: ReplayDoc, style: Style): string[] {
  const s = replay.session;
  const w = replay.workflow;
  const status = str(s, 'status') || str(w, 'status') || 'unknown';
  const id = str(s, 'sessionId') || str(s, 'id');
  const parts = [
    `Session ${id}`,
    statusColour(style, status)(status),
    str(s, 'pattern') || str(w, 'pattern') ? `pattern ${str(s, 'pattern') || str(w, 'pattern')}` : '',
    str(w, 'status') && str(w, 'status') !== status ? `workflow ${str(w, 'status')}` : '',
  ].filter((p) => p !== '');
  const lines = [parts.join('  ')];
  if (str(s, 'goal')) lines.push(`  goal    ${quote(str(s, 'goal'), 100)}`);
  if (str(w, 'reason')) lines.push(`  reason  ${str(w, 'reason')}`);
  const counts = record(w['counts']);
  const summary = Object.entries(counts)
    .map(([k, v]) => `${k} ${String(v)}`)
    .join(', ');
  if (summary) lines.push(`  tasks   ${summary}`);
  return lines;
}

function tasksTable(tasks: readonly Doc[], names: Names, style: Style): string[] {
  return table(
    tasks,
    [
      { header: 'key', value: (t) => str(t, 'key') || shortId(str(t, 'taskId')) },
      {
        header: 'status',
        value: (t) => str(t, 'status'),
        style: (t, s) => statusColour(s, str(t, 'status')),
      },
      { header: 'agent', value: (t) => names.agent(str(t, 'agentId')) || '-' },
      { header: 'attempts', value: (t) => str(t, 'attempts') || '0', align: 'right' },
      { header: 'waiting for', value: (t) => str(t, 'waitingFor') || '-' },
      { header: 'error', value: (t) => str(t, 'error'), maxWidth: 60 },
    ],
    { style, empty: '(none)' },
  );
}

function agentsTable(agents: readonly Doc[], names: Names, style: Style): string[] {
  return table(
    agents,
    [
      { header: 'name', value: (a) => str(a, 'name') || names.agent(str(a, 'agentId')) },
      { header: 'id', value: (a) => shortId(str(a, 'agentId')) },
      { header: 'provider', value: (a) => str(a, 'provider') },
      {
        header: 'status',
        value: (a) =>
          str(a, 'status') + (a['draining'] === true && str(a, 'status') !== 'draining' ? ' (draining)' : ''),
        style: (a, s) => statusColour(s, str(a, 'status')),
      },
      { header: 'health', value: (a) => str(a, 'health') || '-' },
      {
        header: 'slots',
        value: (a) =>
          records(a['slots'])
            .map((slot) => `${names.task(str(slot, 'taskId'))}#${str(slot, 'attempt')}`)
            .join(', ') || '-',
        maxWidth: 60,
      },
    ],
    { style, empty: '(none)' },
  );
}

function allocationsTable(allocations: readonly Doc[], names: Names, style: Style): string[] {
  return table(
    allocations,
    [
      { header: 'task', value: (a) => names.task(str(a, 'taskId')) },
      { header: 'attempt', value: (a) => str(a, 'attempt'), align: 'right' },
      {
        header: 'pools',
        value: (a) =>
          records(a['grants'])
            .map((g) => `${str(g, 'poolId')}:${str(g, 'amount')}`)
            .join(', ') || '-',
        maxWidth: 50,
      },
      {
        header: 'locks',
        value: (a) =>
          records(a['locks'])
            .map((l) => `${str(l, 'lock')}${str(l, 'mode') === 'shared' ? ' (shared)' : ''}`)
            .join(', ') || '-',
        maxWidth: 60,
      },
      {
        header: 'preempted by',
        value: (a) => {
          const by = str(a, 'preemptedBy');
          return by === '' ? '' : by === 'deadlock' ? by : names.task(by);
        },
      },
    ],
    { style, empty: '(none)' },
  );
}

function waitersTable(waiters: readonly Doc[], names: Names, style: Style): string[] {
  return table(
    waiters,
    [
      { header: 'task', value: (w) => names.task(str(w, 'taskId')) },
      { header: 'attempt', value: (w) => str(w, 'attempt'), align: 'right' },
      {
        header: 'queue',
        value: (w) => (num(w, 'position') ? `#${str(w, 'position')}` : '-'),
        align: 'right',
      },
      { header: 'waiting for', value: (w) => str(w, 'waitingFor') || '-' },
      { header: 'since', value: (w) => names.time(w['since']) || '-' },
      {
        header: 'blocked by',
        value: (w) =>
          strings(w['blockers'])
            .map((t) => names.task(t))
            .join(', ') || '-',
        maxWidth: 40,
      },
      { header: 'reason', value: (w) => str(w, 'reason'), maxWidth: 70 },
    ],
    { style, empty: '(none)' },
  );
}

function conflictsTable(conflicts: readonly Doc[], names: Names, style: Style): string[] {
  return table(
    conflicts,
    [
      { header: 'id', value: (c) => shortId(str(c, 'conflictId')) },
      { header: 'kind', value: (c) => str(c, 'kind') },
      { header: 'resource', value: (c) => str(c, 'resource'), maxWidth: 50 },
      { header: 'policy', value: (c) => str(c, 'policy') },
      {
        header: 'parties',
        value: (c) =>
          records(c['parties'])
            .map((p) => `${names.task(str(p, 'taskId'))} (${str(p, 'role')})`)
            .join(', '),
        maxWidth: 70,
      },
      { header: 'since', value: (c) => names.time(c['since']) || '-' },
    ],
    { style, empty: '(none)' },
  );
}
