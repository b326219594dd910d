/**
 * A decider (DESIGN.md "Domain code is pure"): the whole write-side logic of an aggregate.
 * `decide` returns the events a command produces or throws a DomainError; `evolve` folds events
 * into state. Neither does I/O; time, ids and randomness arrive inside the command.
 */
export interface Decider<Command, Event, State> {
  decide(command: Command, state: State): readonly Event[];
  evolve(state: State, event: Event): State;
  initialState(): State;
}

/** Folds `events` over the decider's initial state. */
export const fold = <Command, Event, State>(
  decider: Decider<Command, Event, State>,
  events: Iterable<Event>,
  from: State = decider.initialState(),
): State => {
  let state = from;
  for (const event of events) state = decider.evolve(state, event);
  return state;
};

/** Exhaustiveness check for `switch` statements over discriminated unions. */
export const assertNever = (value: never, what = 'value'): never => {
  throw new Error(`unhandled ${what}: ${JSON.stringify(value)}`);
};
