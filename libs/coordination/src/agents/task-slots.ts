/**
 * An agent's slots, one per attempt of a task it holds.
 *
 * distribution may assign a task's next attempt (after a failure, a timeout, a loss or a hand-off)
 * before coordination has processed the end of the previous one, possibly to the same agent. A
 * slot keyed by the task alone would then be shared by both attempts, and the late release of the
 * old attempt would free the slot the new one runs on. Keyed by (task, attempt), the new attempt
 * takes a slot of its own (counted against the agent's capacity next to the old one until that is
 * released), and a release gives back only the slot of the attempt it names.
 *
 * Attempt 0 is the attempt nobody named: slots and releases recorded before slots carried
 * attempts, and callers that do not say. It follows the rules slots had when they were keyed by
 * task:
 * - an assignment for attempt 0 is a repeat when the agent holds any attempt of the task;
 * - a release for attempt 0 gives back every slot of the task;
 * - a slot of attempt 0 is given back by a release of any attempt of its task (its own attempt is
 *   unknown, and no later release would ever name it).
 */

/** One slot of an agent: the attempt of a task it holds. */
export interface TaskSlot {
  readonly taskId: string;
  /** 1, 2...; 0 when the assignment did not say (recorded before slots carried attempts). */
  readonly attempt: number;
}

/** Whether `slot` already records an assignment of `attempt` of `taskId` (a repeat takes nothing). */
export const recordsAssignment = (slot: TaskSlot, taskId: string, attempt: number): boolean =>
  slot.taskId === taskId && (attempt === 0 || slot.attempt === attempt);

/** Whether a release of `attempt` of `taskId` gives `slot` back. */
export const releasedBy = (slot: TaskSlot, taskId: string, attempt: number): boolean =>
  slot.taskId === taskId && (attempt === 0 || slot.attempt === 0 || slot.attempt === attempt);

/** The slots after an assignment of `attempt` of `taskId`: one more, unless it is a repeat. */
export const withSlot = (slots: readonly TaskSlot[], taskId: string, attempt: number): readonly TaskSlot[] =>
  slots.some((s) => recordsAssignment(s, taskId, attempt)) ? slots : [...slots, { taskId, attempt }];

/** The slots after a release of `attempt` of `taskId`. */
export const withoutSlot = (
  slots: readonly TaskSlot[],
  taskId: string,
  attempt: number,
): readonly TaskSlot[] => slots.filter((s) => !releasedBy(s, taskId, attempt));

/** The tasks the slots are for, each once, in the order their first slot was taken. */
export const slotTaskIds = (slots: readonly TaskSlot[]): string[] => [...new Set(slots.map((s) => s.taskId))];

/**
 * The attempt to release when the event that ended an attempt does not name it (a hand-off): the
 * earliest attempt of the task the agent holds. A later one can only be the task's next attempt,
 * assigned after the hand-off, possibly to the same agent, before its release was processed.
 * 0 when the agent holds the task only in slots without an attempt; undefined when it holds none.
 */
export function earliestAttempt(slots: readonly TaskSlot[], taskId: string): number | undefined {
  let earliest: number | undefined;
  for (const s of slots) {
    if (s.taskId !== taskId) continue;
    if (earliest === undefined || earliest === 0 || (s.attempt !== 0 && s.attempt < earliest))
      earliest = s.attempt;
  }
  return earliest;
}

/** `t1#2`: a slot as one string key (maps, circuit-breaker trials). */
export const slotKey = (taskId: string, attempt: number): string => `${taskId}#${attempt}`;
