import { fold, type Decider } from './decider';
import { ConflictError, NotFoundError } from './errors';
import { spec } from './spec';

type Cmd = { type: 'Add'; n: number };
type Evt = { type: 'Added'; n: number };
const counter: Decider<Cmd, Evt, number> = {
  decide: (c, total) => {
    if (total + c.n > 10) throw new ConflictError('over the limit');
    return [{ type: 'Added', n: c.n }];
  },
  evolve: (total, e) => total + e.n,
  initialState: () => 0,
};

describe('spec()', () => {
  it('passes when the decider emits the expected events', () => {
    spec(counter)
      .given([{ type: 'Added', n: 2 }])
      .when({ type: 'Add', n: 3 })
      .then([{ type: 'Added', n: 3 }]);
  });

  it('fails, showing both sides, when the events differ', () => {
    expect(() =>
      spec(counter)
        .given([])
        .when({ type: 'Add', n: 3 })
        .then([{ type: 'Added', n: 4 }]),
    ).toThrow(/decider emitted\s+\[\{"type":"Added","n":3\}\]\s+expected\s+\[\{"type":"Added","n":4\}\]/);
  });

  it('folds the history before deciding', () => {
    spec(counter)
      .given([{ type: 'Added', n: 9 }])
      .when({ type: 'Add', n: 2 })
      .thenThrows(ConflictError, /over the limit/);
  });

  it('fails when the decider throws another error type', () => {
    expect(() =>
      spec(counter)
        .given([{ type: 'Added', n: 9 }])
        .when({ type: 'Add', n: 2 })
        .thenThrows(NotFoundError),
    ).toThrow(/expected NotFoundError/);
  });

  it('fails when an expected error is not thrown', () => {
    expect(() => spec(counter).given([]).when({ type: 'Add', n: 1 }).thenThrows(ConflictError)).toThrow(
      /but the decider emitted/,
    );
  });
});

describe('fold()', () => {
  it('applies events in order from the initial state', () => {
    expect(
      fold(counter, [
        { type: 'Added', n: 1 },
        { type: 'Added', n: 2 },
      ]),
    ).toBe(3);
  });
});
