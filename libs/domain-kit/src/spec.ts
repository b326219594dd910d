import type { Decider } from './decider';

/**
 * given/when/then specifications for deciders, free of any test framework:
 *
 *   spec(agentDecider).given([registered]).when(drain).then([drained]);
 *   spec(agentDecider).given([]).when(drain).thenThrows(NotFoundError);
 *
 * `then` and `thenThrows` throw an AssertionError-like Error with both sides on mismatch.
 */
export const spec = <C, E, S>(decider: Decider<C, E, S>) => ({
  given: (history: readonly E[]) => ({
    when: (command: C) => {
      const run = (): readonly E[] => {
        const state = history.reduce(decider.evolve, decider.initialState());
        return decider.decide(command, state);
      };
      return {
        then(expected: readonly E[]): void {
          const actual = run();
          const a = JSON.stringify(actual);
          const e = JSON.stringify(expected);
          if (a !== e) throw new Error(`decider emitted\n  ${a}\nexpected\n  ${e}`);
        },
        thenThrows(errorType: abstract new (...args: never[]) => Error, message?: RegExp): void {
          let events: readonly E[];
          try {
            events = run();
          } catch (err) {
            if (!(err instanceof errorType))
              throw new Error(`expected ${errorType.name}, got ${String(err)}`);
            if (message && !message.test(err.message)) {
              throw new Error(`expected message matching ${message}, got "${err.message}"`);
            }
            return;
          }
          throw new Error(`expected ${errorType.name}, but the decider emitted ${JSON.stringify(events)}`);
        },
      };
    },
  }),
});
