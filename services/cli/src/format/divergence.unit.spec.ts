import { readVerify } from '../documents';
import { VERIFY_CLEAN, VERIFY_DIVERGED } from '../testing/fixtures';
import { eventsDiff, jsonDiff, renderVerify } from './divergence';

describe('jsonDiff', () => {
  it('gives nothing for equal values, whatever the key order', () => {
    expect(jsonDiff({ a: 1, b: { c: [1, 2] } }, { b: { c: [1, 2] }, a: 1 })).toEqual([]);
  });

  it('names the changed leaves by path', () => {
    expect(jsonDiff({ a: 1, b: { c: [1, 2], d: 'x' } }, { a: 1, b: { c: [1, 3], d: 'x', e: true } })).toEqual(
      [
        { path: 'b.c[1]', expected: '2', actual: '3' },
        { path: 'b.e', expected: '(absent)', actual: 'true' },
      ],
    );
  });

  it('reports a value that changed kind as one line', () => {
    expect(jsonDiff({ a: [1] }, { a: { x: 1 } })).toEqual([
      { path: 'a', expected: '[1]', actual: '{"x":1}' },
    ]);
  });

  it('cuts long values', () => {
    const [line] = jsonDiff({ a: 'x'.repeat(200) }, { a: 'y' });
    expect(line?.expected.length).toBe(60);
    expect(line?.expected.endsWith('…')).toBe(true);
  });
});

describe('eventsDiff', () => {
  it('reports a changed type without its data, and events on one side only', () => {
    expect(
      eventsDiff(
        [
          { type: 'A', data: { x: 1 } },
          { type: 'B', data: {} },
        ],
        [{ type: 'C', data: { x: 2 } }],
      ),
    ).toEqual([
      { path: '[0].type', expected: 'A', actual: 'C' },
      { path: '[1]', expected: 'B {}', actual: '(absent)' },
    ]);
  });
});

describe('renderVerify', () => {
  it('says there is no divergence with the counts', () => {
    expect(renderVerify(readVerify(VERIFY_CLEAN))).toEqual([
      'no divergence (7 decisions checked, 2 skipped)',
    ]);
  });

  it('lists each divergence: position, stream, command, event types, reason and data diff', () => {
    const lines = renderVerify(readVerify(VERIFY_DIVERGED));
    expect(lines).toEqual([
      '1 divergence (7 decisions checked, 0 skipped)',
      '',
      '#111  workflow-3f2a9c1e-0000-4000-8000-000000000001  command AssignTask',
      '  expected (recorded): TaskAssigned, TaskStarted',
      '  actual (today):      TaskAssigned',
      '  reason: the events differ',
      '  diff:',
      '    [0] TaskAssigned.attempt: 1 -> 2',
      '    [1]: TaskStarted {"taskId":"d0000000-0000-4000-8000-000000000001"} -> (absent)',
      '',
      'Unknown event types (not checked): FutureThingHappened',
    ]);
  });

  it('keeps a long diff short', () => {
    const data = (v: number) => Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, v]));
    const lines = renderVerify(
      readVerify({
        divergences: [
          {
            position: '5',
            streamId: 's',
            command: 'C',
            expected: [{ type: 'T', data: data(1) }],
            actual: [{ type: 'T', data: data(2) }],
            reason: '',
          },
        ],
        checked: 1,
        skipped: 0,
      }),
    );
    expect(lines.filter((l) => l.startsWith('    [0] T.'))).toHaveLength(12);
    expect(lines[lines.length - 1]).toBe('    … 8 more');
  });
});
