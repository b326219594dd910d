import { readEvent, readReplay } from '../documents';
import { EVENTS, REPLAY, SESSION_ID } from '../testing/fixtures';
import { renderState } from './state';
import { namesFor } from './timeline';

const names = () => namesFor(EVENTS.map(readEvent));

/** The lines of a section, from its heading to the blank line after it. */
function section(lines: readonly string[], heading: string): string[] {
  const start = lines.findIndex((l) => l.startsWith(heading));
  if (start === -1) throw new Error(`no section ${heading}`);
  const end = lines.indexOf('', start);
  return lines.slice(start, end === -1 ? undefined : end);
}

describe('renderState', () => {
  const lines = renderState(readReplay(REPLAY), names());

  it('opens with the position, the session status and goal', () => {
    expect(lines[0]).toBe('State at #140 (11 session events folded)');
    expect(lines[1]).toBe(`Session ${SESSION_ID}  running  pattern pair`);
    expect(lines).toContain('  goal    "Add rate-limited password reset"');
    expect(lines).toContain('  tasks   succeeded 1, waiting 1');
  });

  it('lists tasks with status, agent name, attempts and what they wait for', () => {
    const tasks = section(lines, 'Tasks');
    expect(tasks[0]).toBe('Tasks (2)');
    expect(tasks[1]).toMatch(/KEY\s+STATUS\s+AGENT\s+ATTEMPTS\s+WAITING FOR\s+ERROR/);
    expect(tasks[2]).toMatch(/^ {2}design\s+succeeded\s+claude-1\s+1\s+-$/);
    expect(tasks[3]).toMatch(/^ {2}code\s+waiting\s+-\s+1\s+lock\s+tests failed$/);
  });

  it('lists agents, allocations, waiters and open conflicts', () => {
    expect(section(lines, 'Agents')[2]).toMatch(/claude-1\s+a9e1c2d3\s+anthropic\s+idle\s+healthy\s+-/);
    expect(section(lines, 'Allocations')).toEqual(['Allocations (0)', '  (none)']);
    expect(section(lines, 'Waiters')[2]).toMatch(
      /code\s+2\s+#1\s+lock\s+\+1m02\.600s\s+f0000000\s+lock repo/,
    );
    expect(section(lines, 'Open conflicts')[2]).toMatch(
      /cf000000\s+lock\s+repo:acme\/accounts:db\/\*\*\s+queue\s+code \(waiter\), f0000000 \(holder\)/,
    );
  });

  it('reports event types no fold knows', () => {
    expect(lines[lines.length - 1]).toBe('Unknown event types (skipped): FutureThingHappened');
  });

  it('reads a flat document (the replay library shape) the same as the nested one', () => {
    const flat = renderState(readReplay(REPLAY.state), names());
    expect(flat).toEqual(lines);
  });

  it('shows an allocation with its pools and locks', () => {
    const doc = {
      ...REPLAY,
      state: {
        ...REPLAY.state,
        resources: {
          ...REPLAY.state.resources,
          allocations: [
            {
              taskId: 'd0000000-0000-4000-8000-000000000001',
              attempt: 1,
              grants: [{ poolId: 'llm-tokens', amount: 1200 }],
              locks: [{ lock: 'repo:a:b', mode: 'shared' }],
              preemptedBy: 'deadlock',
            },
          ],
        },
      },
    };
    expect(section(renderState(readReplay(doc), names()), 'Allocations')[2]).toMatch(
      /design\s+1\s+llm-tokens:1200\s+repo:a:b \(shared\)\s+deadlock/,
    );
  });
});
