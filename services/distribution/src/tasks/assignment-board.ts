/** An attempt assigned to an agent, as the board hands it out. */
export interface AssignmentRef {
  readonly sessionId: string;
  readonly taskId: string;
  readonly attempt: number;
}

type Waiter = (ref: AssignmentRef | undefined) => void;

/**
 * Attempts assigned to agents and not yet handed to them, and the agents' long polls waiting for
 * one. In memory: after a restart every assigned, unstarted attempt is handed out again
 * (at-least-once; StartTask is idempotent for the holder).
 */
export class AssignmentBoard {
  /** Per agent, by task id, in the order they were assigned. */
  private readonly pending = new Map<string, Map<string, AssignmentRef>>();
  /** Task id -> the attempt handed out, so it is not handed out twice. */
  private readonly handedOut = new Map<string, number>();
  private readonly agentOf = new Map<string, string>();
  private readonly waiters = new Map<string, Waiter[]>();

  /** `handedOutHere` hears of every attempt this board hands out (to tell other replicas). */
  constructor(private readonly handedOutHere: (ref: AssignmentRef) => void = () => undefined) {}

  /** An attempt assigned to `agentId`: to a waiting poll at once, else kept until asked for. */
  offer(agentId: string, ref: AssignmentRef): void {
    if (this.handedOut.get(ref.taskId) === ref.attempt) return;
    const waiter = this.waiters.get(agentId)?.shift();
    if (waiter) {
      this.handOut(ref);
      waiter(ref);
      return;
    }
    const mine = this.pending.get(agentId) ?? new Map<string, AssignmentRef>();
    mine.set(ref.taskId, ref);
    this.pending.set(agentId, mine);
    this.agentOf.set(ref.taskId, agentId);
  }

  /** Another replica handed the attempt out: this one will not. */
  handedOutElsewhere(ref: AssignmentRef): void {
    this.unpend(ref.taskId);
    this.handedOut.set(ref.taskId, ref.attempt);
  }

  /**
   * The task is not assigned, or its attempt `attempt` started: nothing to hand out for it. A
   * later attempt another replica already handed out (this one has not seen it yet) stays marked.
   */
  withdraw(taskId: string, attempt: number): void {
    if ((this.handedOut.get(taskId) ?? 0) <= attempt) this.handedOut.delete(taskId);
    this.unpend(taskId);
  }

  /** The next attempt for the agent, marked handed out; undefined when none is waiting. */
  take(agentId: string): AssignmentRef | undefined {
    const mine = this.pending.get(agentId);
    const first = mine?.values().next();
    if (!first || first.done) return undefined;
    this.handOut(first.value);
    return first.value;
  }

  /** Waits up to `ms` for an attempt for the agent. */
  wait(agentId: string, ms: number): Promise<AssignmentRef | undefined> {
    return new Promise((resolve) => {
      const queue = this.waiters.get(agentId) ?? [];
      const timer = setTimeout(() => {
        const i = queue.indexOf(waiter);
        if (i >= 0) queue.splice(i, 1);
        if (queue.length === 0) this.waiters.delete(agentId);
        resolve(undefined);
      }, ms);
      const waiter: Waiter = (ref) => {
        clearTimeout(timer);
        if (queue.length === 0) this.waiters.delete(agentId);
        resolve(ref);
      };
      queue.push(waiter);
      this.waiters.set(agentId, queue);
    });
  }

  /** Ends every waiting poll empty-handed (shutdown). */
  close(): void {
    for (const queue of this.waiters.values()) for (const w of queue.splice(0)) w(undefined);
    this.waiters.clear();
  }

  private handOut(ref: AssignmentRef): void {
    this.handedOutElsewhere(ref);
    this.handedOutHere(ref);
  }

  private unpend(taskId: string): void {
    const agentId = this.agentOf.get(taskId);
    if (agentId === undefined) return;
    this.agentOf.delete(taskId);
    const mine = this.pending.get(agentId);
    mine?.delete(taskId);
    if (mine?.size === 0) this.pending.delete(agentId);
  }
}
