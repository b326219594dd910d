import fc from 'fast-check';
import { SseParser } from './sse';

const STREAM =
  ': connected\n\n' +
  'id: 41\nevent: TaskAssigned\ndata: {"a":1}\n\n' +
  ': heartbeat\r\n\r\n' +
  'id: 42\r\nevent: TaskFailed\r\ndata: line one\r\ndata: line two\r\n\r\n' +
  'data: no id\n\n';

const EXPECTED = [
  { id: '41', event: 'TaskAssigned', data: '{"a":1}' },
  { id: '42', event: 'TaskFailed', data: 'line one\nline two' },
  // The last id carries over to a message without one (it is the stream's last event id).
  { id: '42', event: 'message', data: 'no id' },
];

describe('SseParser', () => {
  it('dispatches messages on blank lines and skips comments', () => {
    const parser = new SseParser();
    expect(parser.push(STREAM)).toEqual(EXPECTED);
    expect(parser.lastEventId).toBe('42');
  });

  it('waits for the blank line before dispatching', () => {
    const parser = new SseParser();
    expect(parser.push('id: 1\ndata: x\n')).toEqual([]);
    expect(parser.push('\n')).toEqual([{ id: '1', event: 'message', data: 'x' }]);
  });

  it('gives the same messages however the stream is cut into chunks', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 1, max: STREAM.length - 1 }), { maxLength: 12 }),
        (cuts) => {
          const points = [0, ...cuts.sort((a, b) => a - b), STREAM.length];
          const parser = new SseParser();
          const messages = points.slice(1).flatMap((end, i) => parser.push(STREAM.slice(points[i], end)));
          expect(messages).toEqual(EXPECTED);
        },
      ),
    );
  });
});
