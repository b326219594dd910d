import fc from 'fast-check';
import { ReadyQueue, type ReadyEntry } from './ready-queue';

const entry = (taskId: string, priority: number, readyAt: number): ReadyEntry => ({
  sessionId: 's',
  taskId,
  priority,
  readyAt,
});
const drain = (q: ReadyQueue): string[] => {
  const out: string[] = [];
  for (let e = q.poll(); e; e = q.poll()) out.push(e.taskId);
  return out;
};

describe('ReadyQueue', () => {
  it('gives the highest priority first, then the task ready longest', () => {
    const q = new ReadyQueue();
    q.offer(entry('low-old', 0, 1));
    q.offer(entry('high-new', 5, 9));
    q.offer(entry('high-old', 5, 2));
    q.offer(entry('low-new', 0, 8));
    expect(drain(q)).toEqual(['high-old', 'high-new', 'low-old', 'low-new']);
  });

  it('keeps one entry per task: an offer moves it, a delete removes it', () => {
    const q = new ReadyQueue();
    q.offer(entry('a', 0, 1));
    q.offer(entry('b', 0, 2));
    q.offer(entry('a', 0, 3));
    q.offer(entry('c', 0, 4));
    q.delete('c');
    expect(q.size).toBe(2);
    expect(drain(q)).toEqual(['b', 'a']);
    expect(q.poll()).toBeUndefined();
  });

  it('orders any offers like a sort of the last offer of each task', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            id: fc.integer({ min: 0, max: 9 }),
            p: fc.integer({ min: -2, max: 2 }),
            at: fc.nat(50),
          }),
        ),
        (offers) => {
          const q = new ReadyQueue();
          const last = new Map<string, ReadyEntry>();
          for (const o of offers) {
            const e = entry(`t${o.id}`, o.p, o.at);
            q.offer(e);
            last.set(e.taskId, e);
          }
          const expected = [...last.values()]
            .sort(
              (a, b) => b.priority - a.priority || a.readyAt - b.readyAt || (a.taskId < b.taskId ? -1 : 1),
            )
            .map((e) => e.taskId);
          expect(drain(q)).toEqual(expected);
        },
      ),
    );
  });
});
