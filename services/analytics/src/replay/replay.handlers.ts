import { create } from '@bufbuild/protobuf';
import { Inject, Injectable } from '@nestjs/common';
import {
  SessionEventPageSchema,
  commandInfo,
  type ListSessionEvents,
  type ReplaySession,
  type ReplayState,
  type SessionEventPage,
  type VerifySession,
  type VerifyReport,
} from '@orch/contracts';
import { NotFoundError } from '@orch/domain-kit';
import type { EventStore } from '@orch/eventstore';
import { CommandHandler } from '@orch/messaging';
import {
  defaultStreamKinds,
  replaySession,
  sharedStreamsOf,
  verifySession,
  type ReplayEvent,
  type StreamKind,
} from '@orch/replay';
import { ANALYTICS_OPTIONS, EVENT_STORE, type AnalyticsModuleOptions } from '../tokens';
import { toReplayEventMessage, toReplayState, toVerifyReportMessage } from './replay.mapping';
import { checkSessionId, pageLimit, replayPosition } from './requests';
import { SessionEnds, readSession, readStreamsUpTo, streamsOf, toReplayEvent } from './session-history';

const noEvents = (sessionId: string): NotFoundError =>
  new NotFoundError(`session ${sessionId} has no events`, { sessionId });

/**
 * Session replay over NATS (DESIGN.md "Replay"): the session's history read from the store, folded
 * to a position with the services' own evolve functions, or decided again with today's deciders.
 * The folding and deciding are pure (@orch/replay); this class reads the events they need.
 */
@Injectable()
export class ReplayHandlers {
  private readonly kinds: readonly StreamKind[];
  private readonly ends: SessionEnds;

  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(ANALYTICS_OPTIONS) options: AnalyticsModuleOptions,
  ) {
    this.kinds = defaultStreamKinds({ allocator: { agingStepMs: options.allocatorAgingStepMs } });
    this.ends = new SessionEnds(store);
  }

  /** One page of the session's history across services, in global order. */
  @CommandHandler(commandInfo('analytics.ListSessionEvents'))
  async list(m: ListSessionEvents): Promise<SessionEventPage> {
    const sessionId = checkSessionId(m.sessionId);
    const limit = pageLimit(m.limit);
    // One more than asked tells whether another page follows.
    const read = await this.store.readByCorrelation(sessionId, { fromPosition: m.from, limit: limit + 1 });
    const items = read.slice(0, limit).map(toReplayEvent);
    const more = read.length > limit;
    let last: bigint;
    if (more) last = await this.ends.last(sessionId, read[limit]!.globalPosition);
    else if (items.length > 0) last = items[items.length - 1]!.position;
    else if (m.from === 0n) throw noEvents(sessionId);
    else last = await this.ends.last(sessionId, 0n);
    if (last === 0n) throw noEvents(sessionId);
    this.ends.remember(sessionId, last);
    return create(SessionEventPageSchema, {
      items: items.map(toReplayEventMessage),
      nextFrom: more ? items[items.length - 1]!.position : 0n,
      lastPosition: last,
    });
  }

  /** The session, its tasks, agents, resources and conflicts as they were at a position. */
  @CommandHandler(commandInfo('analytics.ReplaySession'))
  async replay(m: ReplaySession): Promise<ReplayState> {
    const sessionId = checkSessionId(m.sessionId);
    const history = await this.history(sessionId);
    const at = replayPosition(m.at, history[history.length - 1]!.position);
    const sessionEvents = history.filter((e) => e.position <= at);
    // Agents and the allocator hold other sessions' work too: their state at `at` needs them whole.
    const shared = sharedStreamsOf(sessionEvents, this.kinds);
    const sharedStreams = await readStreamsUpTo(this.store, shared, at);
    return toReplayState(at, replaySession({ sessionId, at, sessionEvents, sharedStreams }, this.kinds));
  }

  /** Every recorded decision of the session decided again with today's code, and where it differs. */
  @CommandHandler(commandInfo('analytics.VerifySession'))
  async verify(m: VerifySession): Promise<VerifyReport> {
    const sessionId = checkSessionId(m.sessionId);
    const history = await this.history(sessionId);
    const last = history[history.length - 1]!.position;
    const streamIds = [...new Set([...streamsOf(history), ...sharedStreamsOf(history, this.kinds)])];
    const streams = await readStreamsUpTo(this.store, streamIds, last);
    return toVerifyReportMessage(verifySession({ sessionId, streams }, this.kinds));
  }

  /** The session's whole history; a session without events is not found. */
  private async history(sessionId: string): Promise<ReplayEvent[]> {
    const history = await readSession(this.store, sessionId);
    if (history.length === 0) throw noEvents(sessionId);
    this.ends.remember(sessionId, history[history.length - 1]!.position);
    return history;
  }
}
