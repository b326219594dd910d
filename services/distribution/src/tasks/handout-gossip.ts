import { randomUUID } from 'node:crypto';
import type { NatsConnection, Subscription } from '@nats-io/nats-core';
import type { Naming } from '@orch/messaging';
import type { Logger } from 'pino';
import type { AssignmentBoard, AssignmentRef } from './assignment-board';

interface Handout extends AssignmentRef {
  readonly from: string;
}

/**
 * Tells the other replicas which attempts this one handed to their agents, so an agent whose
 * polls land on several replicas gets each attempt once. Best effort over core NATS: a lost
 * message, or a poll racing it, hands an attempt out twice, which StartTask tolerates (as it does
 * the hand-outs repeated after a restart).
 */
export class HandoutGossip {
  private readonly replica = randomUUID();
  private readonly subject: string;
  private subscription: Subscription | undefined;

  constructor(
    private readonly nc: NatsConnection,
    naming: Naming,
    private readonly logger: Logger,
  ) {
    this.subject = `${naming.namespace === '' ? '' : `${naming.namespace}.`}distribution.handouts`;
  }

  /** Applies the other replicas' hand-outs to `board` until `stop`. */
  start(board: AssignmentBoard): void {
    this.subscription = this.nc.subscribe(this.subject, {
      callback: (err, msg) => {
        if (err) return this.logger.warn({ err }, 'hand-out gossip subscription failed');
        const handout = msg.json<Handout>();
        if (handout.from !== this.replica) board.handedOutElsewhere(handout);
      },
    });
  }

  announce(ref: AssignmentRef): void {
    const handout: Handout = {
      sessionId: ref.sessionId,
      taskId: ref.taskId,
      attempt: ref.attempt,
      from: this.replica,
    };
    this.nc.publish(this.subject, JSON.stringify(handout));
  }

  stop(): void {
    this.subscription?.unsubscribe();
  }
}
