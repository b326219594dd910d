import { AssignmentBoard, type AssignmentRef } from './assignment-board';

const ref = (taskId: string, attempt = 1): AssignmentRef => ({ sessionId: 's', taskId, attempt });

describe('AssignmentBoard', () => {
  it('hands each assigned attempt out once, in the order assigned, telling whoever listens', () => {
    const told: AssignmentRef[] = [];
    const board = new AssignmentBoard((r) => told.push(r));
    board.offer('a1', ref('t1'));
    board.offer('a1', ref('t2'));
    board.offer('a1', ref('t1'));
    expect([board.take('a1'), board.take('a1'), board.take('a1')]).toEqual([ref('t1'), ref('t2'), undefined]);
    board.offer('a1', ref('t1'));
    expect(board.take('a1')).toBeUndefined();
    expect(told).toEqual([ref('t1'), ref('t2')]);
  });

  it('gives an attempt to a waiting poll at once, and ends a poll empty-handed when none comes', async () => {
    const board = new AssignmentBoard();
    const waiting = board.wait('a1', 10_000);
    board.offer('a2', ref('other'));
    board.offer('a1', ref('t1'));
    await expect(waiting).resolves.toEqual(ref('t1'));
    await expect(board.wait('a1', 10)).resolves.toBeUndefined();
  });

  it('hands out a later attempt of a task again, but not one withdrawn', () => {
    const board = new AssignmentBoard();
    board.offer('a1', ref('t1', 1));
    board.take('a1');
    board.withdraw('t1', 1);
    board.offer('a1', ref('t1', 2));
    board.offer('a1', ref('t3'));
    board.withdraw('t3', 1);
    expect([board.take('a1'), board.take('a1')]).toEqual([ref('t1', 2), undefined]);
  });

  it('does not hand out what another replica did, even before it sees the assignment itself', () => {
    const board = new AssignmentBoard();
    board.handedOutElsewhere(ref('t1', 1));
    board.withdraw('t1', 0); // its state still says ready: the mark stays
    board.offer('a1', ref('t1', 1));
    expect(board.take('a1')).toBeUndefined();
  });

  it('ends every waiting poll when closed', async () => {
    const board = new AssignmentBoard();
    const polls = [board.wait('a1', 10_000), board.wait('a2', 10_000)];
    board.close();
    await expect(Promise.all(polls)).resolves.toEqual([undefined, undefined]);
  });
});
