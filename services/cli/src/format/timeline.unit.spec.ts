import { readEvent, readReplay } from '../documents';
import { AGENT_ID, CODE_TASK, EVENTS, REPLAY, eventDoc } from '../testing/fixtures';
import { namesFor, renderTimeline, timelineRows } from './timeline';

const events = EVENTS.map(readEvent);

describe('timelineRows', () => {
  const names = namesFor(events);
  names.learnFromState(readReplay(REPLAY).tasks, readReplay(REPLAY).agents);
  const rows = timelineRows(events, names);
  const row = (type: string) => rows.find((r) => r.type === type);

  it('gives each event its position, service and offset from the first event', () => {
    expect(rows.map((r) => r.position)).toEqual(EVENTS.map((e) => e['position']));
    expect(rows[0]).toMatchObject({ offset: '+0.000s', service: 'coordination', type: 'SessionStarted' });
    expect(row('TaskSucceeded')?.offset).toBe('+1.234s');
    expect(row('TaskFailed')?.offset).toBe('+1m02.500s');
  });

  it('names tasks by their keys and agents by their names', () => {
    expect(row('TaskAssigned')).toMatchObject({ task: 'design', agent: 'claude-1' });
    expect(row('TaskFailed')).toMatchObject({ task: 'code', agent: 'claude-1' });
    // The agent of an agent stream's event comes from the stream id.
    expect(row('AgentTaskAssigned')).toMatchObject({ task: 'design', agent: 'claude-1' });
    // A conflict concerns its waiting task.
    expect(row('ConflictDetected')?.task).toBe('code');
  });

  it('falls back to the start of an id it cannot name', () => {
    const unnamed = namesFor([]);
    const [r] = timelineRows([events[5]!], unnamed);
    expect(r).toMatchObject({ task: 'd0000000', agent: AGENT_ID.slice(0, 8) });
  });

  it('summarises known types in words and others by their fields', () => {
    expect(row('TaskAssigned')?.summary).toBe('attempt 1 by weighted score 0.8234');
    expect(row('TaskFailed')?.summary).toBe('attempt 1 retryable - tests failed');
    expect(row('TaskSucceeded')?.summary).toBe('attempt 1 tokens 1200+300 $0.0123');
    expect(row('ResourcesAllocated')?.summary).toBe(
      'attempt 1 pools llm-tokens:1200 locks repo:acme/accounts:db/**',
    );
    expect(row('FutureThingHappened')?.summary).toBe('level=3');
  });

  it('shows times inside an unknown event as offsets from the session start', () => {
    const names2 = namesFor(events);
    const odd = readEvent(
      eventDoc(150, 70_000, 'x', 'Odd', 'odd-1', 1, {
        taskId: CODE_TASK,
        dueAt: '2026-03-01T10:00:05.000Z',
        due: '2026-03-01T10:00:05.000Z',
        note: 'two words',
        tags: ['a', 'b'],
      }),
    );
    // `dueAt` is the event's own kind of time field and left out; other times become offsets.
    expect(timelineRows([odd], names2)[0]?.summary).toBe('due=+5.000s note="two words" tags=a,b');
  });
});

describe('renderTimeline', () => {
  it('aligns every column: each line has its type at the same place', () => {
    const lines = renderTimeline(timelineRows(events, namesFor(events)));
    expect(lines[0]).toMatch(/POS\s+TIME\s+SERVICE\s+TYPE\s+TASK\s+AGENT\s+SUMMARY/);
    const typeAt = lines[0]!.indexOf('TYPE');
    for (const [i, line] of lines.slice(1).entries()) {
      expect(line.slice(typeAt).startsWith(EVENTS[i]!['type'] as string)).toBe(true);
    }
    expect(lines[1]).toMatch(/^ *#101 +\+0\.000s +coordination +SessionStarted/);
  });
});
