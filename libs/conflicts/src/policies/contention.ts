import { isOlder, type Contender } from './priority';

/**
 * What happens when a request is blocked by holders:
 * - `queue`: wait in priority order (FIFO within a priority, with aging);
 * - `preempt`: a requester of strictly higher priority than every holder preempts them, else waits;
 * - `wait-die`: an older requester waits, a younger one dies (gives up and is retried later);
 * - `wound-wait`: an older requester wounds (preempts) the younger holders, a younger one waits;
 * - `manual`: the conflict is left for an operator.
 */
export type ConflictPolicy = 'queue' | 'preempt' | 'wait-die' | 'wound-wait' | 'manual';

export const CONFLICT_POLICIES: readonly ConflictPolicy[] = Object.freeze([
  'queue',
  'preempt',
  'wait-die',
  'wound-wait',
  'manual',
] as const);

/** Whether `value` names a conflict policy. */
export const isConflictPolicy = (value: unknown): value is ConflictPolicy =>
  typeof value === 'string' && (CONFLICT_POLICIES as readonly string[]).includes(value);

export type ContentionOutcome =
  | { readonly kind: 'wait'; readonly reason: string }
  /** wait-die: the younger requester gives up (retried later, not a failure). */
  | { readonly kind: 'die'; readonly reason: string }
  /** preempt / wound-wait: the victims are asked to give way; the requester waits until they have. */
  | { readonly kind: 'preempt'; readonly victims: readonly string[]; readonly reason: string }
  /** Left for an operator. */
  | { readonly kind: 'manual'; readonly reason: string };

/**
 * What `policy` says when `requester` is blocked by `holders` (all of them must give way for a preempt).
 *
 * Priorities are compared as given: pass effective (aged) priorities in the contenders if aging should
 * count. Ages compare by `since`, ties broken by id ({@link isOlder}). With no holders (blocked by
 * something other than a holder, e.g. capacity), every policy but `manual` waits.
 *
 * wound-wait follows the classic rule holder by holder: the holders younger than the requester are
 * wounded (victims, in the order given) and it waits for the older ones. Waiting for a younger holder
 * instead would let a wait-for cycle form (an older task waiting for a younger one that waits for it).
 */
export function decideContention(
  policy: ConflictPolicy,
  requester: Contender,
  holders: readonly Contender[],
): ContentionOutcome {
  if (policy === 'manual')
    return { kind: 'manual', reason: `${requester.id} is blocked by ${list(holders)}; an operator decides` };
  if (holders.length === 0) return { kind: 'wait', reason: `${requester.id} waits for free capacity` };
  switch (policy) {
    case 'queue':
      return { kind: 'wait', reason: `${requester.id} waits in priority order for ${list(holders)}` };
    case 'preempt':
      return decidePreempt(requester, holders);
    case 'wait-die':
      return decideWaitDie(requester, holders);
    case 'wound-wait':
      return decideWoundWait(requester, holders);
    default: {
      const unknown: never = policy;
      throw new RangeError(`unknown conflict policy ${String(unknown)}`);
    }
  }
}

function decidePreempt(requester: Contender, holders: readonly Contender[]): ContentionOutcome {
  const equalOrHigher = holders.filter((h) => !(h.priority < requester.priority));
  if (equalOrHigher.length === 0)
    return {
      kind: 'preempt',
      victims: ids(holders),
      reason: `${requester.id} (priority ${requester.priority}) preempts lower-priority ${withPriorities(holders)}`,
    };
  return {
    kind: 'wait',
    reason:
      `${requester.id} (priority ${requester.priority}) waits: ${withPriorities(equalOrHigher)} ` +
      `${equalOrHigher.length === 1 ? 'has' : 'have'} no lower priority`,
  };
}

function decideWaitDie(requester: Contender, holders: readonly Contender[]): ContentionOutcome {
  const older = holders.filter((h) => !isOlder(requester, h));
  if (older.length === 0)
    return { kind: 'wait', reason: `${requester.id} is older than ${list(holders)} and waits (wait-die)` };
  return {
    kind: 'die',
    reason: `${requester.id} is younger than ${list(older)} and gives up, to be retried later (wait-die)`,
  };
}

function decideWoundWait(requester: Contender, holders: readonly Contender[]): ContentionOutcome {
  const younger = holders.filter((h) => isOlder(requester, h));
  const older = holders.filter((h) => !isOlder(requester, h));
  if (younger.length === 0)
    return {
      kind: 'wait',
      reason: `${requester.id} is younger than ${list(holders)} and waits (wound-wait)`,
    };
  const rest = older.length === 0 ? '' : `, and waits for older ${list(older)}`;
  return {
    kind: 'preempt',
    victims: ids(younger),
    reason: `${requester.id} is older than ${list(younger)} and preempts ${younger.length === 1 ? 'it' : 'them'}${rest} (wound-wait)`,
  };
}

const ids = (cs: readonly Contender[]): string[] => cs.map((c) => c.id);
const list = (cs: readonly Contender[]): string => (cs.length === 0 ? 'nobody' : ids(cs).join(', '));
const withPriorities = (cs: readonly Contender[]): string =>
  cs.map((c) => `${c.id} (priority ${c.priority})`).join(', ');
