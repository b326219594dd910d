import type { EventDoc } from '../documents';
import { plain, type Style } from './style';
import { Names, subjectOf, summarise } from './summary';
import { table, type Column } from './table';
import { formatOffset } from './time';

/** One line of a session's timeline, before alignment. */
export interface TimelineRow {
  /** Global position, e.g. `1042`. */
  readonly position: string;
  /** From the session's first event: `+1.234s`. */
  readonly offset: string;
  /** The service that recorded it. */
  readonly service: string;
  readonly type: string;
  /** The key of the task it concerns, '' when none. */
  readonly task: string;
  /** The name of the agent it concerns, '' when none. */
  readonly agent: string;
  readonly summary: string;
}

/**
 * Names for a session's ids, learnt from its events (which come first, so a key given by a
 * TaskSubmitted names the task in every line) and from replayed state. Times count from the
 * first event's.
 */
export function namesFor(events: readonly EventDoc[]): Names {
  const names = new Names(events.find((e) => e.occurredAt)?.occurredAt);
  for (const e of events) names.learnFromEvent(e.type, e.data);
  return names;
}

/** A timeline row per event, in the order given (global order). */
export function timelineRows(events: readonly EventDoc[], names: Names): TimelineRow[] {
  return events.map((e) => {
    const { task, agent } = subjectOf(e.type, e.streamId, e.data, names);
    return {
      position: e.position.toString(),
      offset:
        e.occurredAt && names.start ? formatOffset(e.occurredAt.getTime() - names.start.getTime()) : '?',
      service: e.source,
      type: e.type,
      task,
      agent,
      summary: summarise(e.type, e.data, names),
    };
  });
}

const MAX_SUMMARY = 100;

/**
 * The timeline as aligned lines: a header, then one line per row -
 * `#1042  +1.234s  distribution  TaskAssigned  design  claude-1  attempt 1 by weighted`.
 */
export function renderTimeline(rows: readonly TimelineRow[], style: Style = plain): string[] {
  const columns: Column<TimelineRow>[] = [
    { header: 'pos', value: (r) => `#${r.position}`, align: 'right', style: (_r, s) => s.dim },
    { header: 'time', value: (r) => r.offset, align: 'right' },
    { header: 'service', value: (r) => r.service },
    { header: 'type', value: (r) => r.type, style: (r, s) => typeColour(r.type, s) },
    { header: 'task', value: (r) => r.task || '-' },
    { header: 'agent', value: (r) => r.agent || '-' },
    { header: 'summary', value: (r) => r.summary, maxWidth: MAX_SUMMARY },
  ];
  return table(rows, columns, { indent: '', style });
}

function typeColour(type: string, style: Style): ((text: string) => string) | undefined {
  if (/Failed|DeadLettered|TimedOut|Refused|Lost|Deadlock/.test(type)) return style.red;
  if (/Succeeded|Completed/.test(type)) return style.green;
  if (/Waiting|Blocked|Conflict|Preempt/.test(type)) return style.yellow;
  return undefined;
}
