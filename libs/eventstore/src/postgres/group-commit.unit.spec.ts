import { describe, expect, it } from '@jest/globals';
import { GroupCommitQueue, type Queued } from './group-commit';

interface Item extends Queued {
  readonly name: string;
  resolve(): void;
}

const item = (name: string, size = 1): { item: Item; done: Promise<void> } => {
  let resolve!: () => void;
  let reject!: (e: unknown) => void;
  const done = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
  return { item: { name, size, resolve, reject }, done };
};

/** A flush that records its batches and settles them when told to. */
function recorder() {
  const batches: string[][] = [];
  const gates: Array<() => void> = [];
  const flush = (batch: Item[]): Promise<void> => {
    batches.push(batch.map((i) => i.name));
    return new Promise<void>((release) => {
      gates.push(() => {
        for (const i of batch) i.resolve();
        release();
      });
    });
  };
  const releaseNext = async (): Promise<void> => {
    while (gates.length === 0) await new Promise((r) => setImmediate(r));
    gates.shift()!();
  };
  return { batches, flush, releaseNext };
}

describe('GroupCommitQueue', () => {
  it('gathers appends made in the same tick into one batch', async () => {
    const r = recorder();
    const queue = new GroupCommitQueue<Item>({ maxBatchEvents: 100, maxBatchAppends: 100 }, r.flush);
    const items = ['a', 'b', 'c'].map((n) => item(n));
    items.forEach((i) => queue.enqueue(i.item));
    await r.releaseNext();
    await Promise.all(items.map((i) => i.done));
    expect(r.batches).toEqual([['a', 'b', 'c']]);
  });

  it('runs one flush at a time and gives the next one everything that queued meanwhile', async () => {
    const r = recorder();
    const queue = new GroupCommitQueue<Item>({ maxBatchEvents: 100, maxBatchAppends: 100 }, r.flush);
    queue.enqueue(item('a').item);
    await new Promise((res) => setImmediate(res));
    ['b', 'c', 'd'].forEach((n) => queue.enqueue(item(n).item));
    expect(r.batches).toEqual([['a']]);
    await r.releaseNext();
    await r.releaseNext();
    await queue.idle();
    expect(r.batches).toEqual([['a'], ['b', 'c', 'd']]);
  });

  it('respects the append and event limits but never splits an append', async () => {
    const r = recorder();
    const queue = new GroupCommitQueue<Item>({ maxBatchEvents: 10, maxBatchAppends: 2 }, r.flush);
    queue.enqueue(item('a', 1).item);
    queue.enqueue(item('b', 1).item);
    queue.enqueue(item('c', 1).item);
    queue.enqueue(item('big', 25).item);
    queue.enqueue(item('d', 6).item);
    queue.enqueue(item('e', 5).item);
    for (let i = 0; i < 5; i++) await r.releaseNext();
    await queue.idle();
    expect(r.batches).toEqual([['a', 'b'], ['c'], ['big'], ['d'], ['e']]);
  });

  it('fails every append of a batch whose flush throws, and keeps going', async () => {
    const failure = new Error('flush bug');
    let calls = 0;
    const queue = new GroupCommitQueue<Item>({ maxBatchEvents: 10, maxBatchAppends: 10 }, async (batch) => {
      if (calls++ === 0) throw failure;
      batch.forEach((i) => i.resolve());
    });
    const first = item('a');
    queue.enqueue(first.item);
    await expect(first.done).rejects.toBe(failure);
    const second = item('b');
    queue.enqueue(second.item);
    await expect(second.done).resolves.toBeUndefined();
  });

  it('does not strand an append queued while the last flush completes', async () => {
    const order: string[] = [];
    const queue: GroupCommitQueue<Item> = new GroupCommitQueue<Item>(
      { maxBatchEvents: 10, maxBatchAppends: 10 },
      async (batch) => {
        for (const i of batch) {
          order.push(i.name);
          i.resolve();
        }
      },
    );
    const first = item('a');
    queue.enqueue(first.item);
    // Enqueue from the first append's continuation, i.e. while the drain loop is finishing.
    const second = item('b');
    await first.done.then(() => queue.enqueue(second.item));
    await second.done;
    expect(order).toEqual(['a', 'b']);
  });
});
