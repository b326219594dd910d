import {
  Inject,
  Injectable,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
  type OnModuleInit,
} from '@nestjs/common';
import type { ConflictResolution } from '@orch/contracts';
import { LogFollower, type EventStore, type RecordedEvent } from '@orch/eventstore';
import { MESSAGING_LOGGER } from '@orch/messaging';
import type { ServiceMetrics } from '@orch/observability';
import type { Logger } from 'pino';
import { registerConflictMetrics, type ConflictMetrics } from '../metrics';
import {
  ALLOCATOR_SERVICE,
  CONFLICTS_OPTIONS,
  EVENT_STORE,
  METRICS,
  type ConflictsModuleOptions,
} from '../tokens';
import {
  ConflictIndex,
  evolveConflict,
  finalResolution,
  type ConflictChange,
  type ConflictEvent,
  type ConflictPage,
  type ConflictRecord,
  type DetectedConflict,
  type OpenConflict,
  type PageQuery,
} from './conflict-records';
import { CONFLICT_EVENT_TYPES, toConflictEvent, toResolutionAccepted } from './conflict.mapping';

/**
 * The conflict desk's read model: every conflict the allocator recorded, in memory. Rebuilt from
 * the store's global log (the resources service's ConflictDetected / ConflictResolved) before any
 * command is served, then kept current by following the log. Resolved conflicts beyond the
 * configured number (the least recently resolved first) are dropped from memory; they remain in
 * the event store.
 */
@Injectable()
export class ConflictBook implements OnModuleInit, OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly index: ConflictIndex;
  private readonly follower: LogFollower;
  private readonly metrics: ConflictMetrics;

  constructor(
    @Inject(EVENT_STORE) store: EventStore,
    @Inject(CONFLICTS_OPTIONS) options: ConflictsModuleOptions,
    @Inject(METRICS) metrics: ServiceMetrics,
    @Inject(MESSAGING_LOGGER) private readonly logger: Logger,
  ) {
    this.index = new ConflictIndex({ keepResolved: options.keepResolved });
    this.metrics = registerConflictMetrics(metrics, () => this.index.openCounts());
    this.follower = new LogFollower(store, {
      filter: { sources: [ALLOCATOR_SERVICE], types: [...CONFLICT_EVENT_TYPES] },
      apply: (recorded) => this.apply(toConflictEvent(recorded)),
      onError: (err: unknown, recorded: RecordedEvent) =>
        this.logger.warn(
          {
            err,
            eventId: recorded.eventId,
            type: recorded.type,
            position: recorded.globalPosition.toString(),
          },
          'could not apply a conflict event from the log',
        ),
    });
  }

  /** Runs before the command handlers start (they start at application bootstrap). */
  async onModuleInit(): Promise<void> {
    const caughtUp = await this.follower.catchUp();
    this.logger.info(
      {
        events: caughtUp.events,
        conflicts: this.index.size,
        position: caughtUp.position.toString(),
        ms: caughtUp.ms,
      },
      'conflicts rebuilt from the event store',
    );
  }

  onApplicationBootstrap(): void {
    this.follower.start((err) => this.logger.error({ err }, 'following the event store stopped'));
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.follower.stop();
  }

  get(conflictId: string): ConflictRecord | undefined {
    return this.index.get(conflictId);
  }

  /** A page of conflicts, newest detection first (see ConflictIndex.page). */
  page(query: PageQuery): ConflictPage {
    return this.index.page(query);
  }

  /**
   * Applies the allocator's reply to an operator's resolution of `conflict`, received at `at`,
   * before its ConflictResolved event arrives through the log (which then replaces it; if the event
   * came first, the reply changes nothing). Returns the conflict as it is now.
   */
  accept(conflict: OpenConflict, reply: ConflictResolution, at: Date): DetectedConflict {
    const event = toResolutionAccepted(conflict.conflictId, reply, at);
    // Folded into what was checked, for when the book no longer holds it: its ConflictResolved
    // came first and it was already dropped as an old resolved one.
    const alone = (): DetectedConflict => {
      const r = evolveConflict(conflict, event);
      return r.status === 'undetected' ? conflict : r;
    };
    if (!this.index.get(conflict.conflictId)) return alone();
    const { after } = this.apply(event);
    return after.status === 'undetected' ? alone() : after;
  }

  private apply(event: ConflictEvent): ConflictChange {
    const change = this.index.apply(event);
    if (change.changed) this.observe(change);
    return change;
  }

  /** Counts a conflict when its final resolution first arrives; its wait once both ends are known. */
  private observe({ before, after }: ConflictChange): void {
    const resolved = finalResolution(after);
    if (!resolved) return;
    const known = finalResolution(before);
    if (!known) this.metrics.resolved.inc({ resolution: resolved.resolution });
    if (after.status === 'resolved' && !(known && before?.status === 'resolved')) {
      const seconds = (resolved.resolvedAt.getTime() - after.detection.detectedAt.getTime()) / 1000;
      this.metrics.wait.observe(Math.max(0, seconds));
    }
  }
}
