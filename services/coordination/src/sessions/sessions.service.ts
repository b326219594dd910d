import { Inject, Injectable } from '@nestjs/common';
import {
  contextDecider,
  contextStreamId,
  sessionDecider,
  sessionEventTypes,
  sessionStreamId,
  type ContextState,
  type PutContext,
  type SessionCommand,
  type SessionContextUpdated,
  type SessionEvent,
  type SessionState,
} from '@orch/coordination';
import {
  AggregateCache,
  type CachedAggregate,
  type CachedExecution,
  type EventMetadataInput,
  type EventStore,
  type RecordedEvent,
} from '@orch/eventstore';
import type { LogObserver } from '../fleet/event-log.follower';
import { EVENT_STORE } from '../tokens';

const CONTEXT_UPDATED = 'SessionContextUpdated';

/** A wait for the next change of a session, ended by the change, the timeout or `cancel`. */
export interface ChangeWait {
  readonly changed: Promise<void>;
  cancel(): void;
}

/**
 * Sessions and their shared context, kept in memory per stream (loaded on first use) and following
 * the global log, so a message posted through another replica wakes long-polls here too.
 */
@Injectable()
export class SessionsService implements LogObserver {
  readonly types: readonly string[] = [...sessionEventTypes, CONTEXT_UPDATED];
  /** Loaded on demand: nothing is read from the start of the log. */
  readonly rebuildTypes: readonly string[] = [];
  private readonly sessions: AggregateCache<SessionCommand, SessionEvent, SessionState>;
  private readonly contexts: AggregateCache<PutContext, SessionContextUpdated, ContextState>;
  private readonly waiters = new Map<string, Set<() => void>>();

  constructor(@Inject(EVENT_STORE) store: EventStore) {
    this.sessions = new AggregateCache(store, {
      decider: sessionDecider,
      toNewEvent: (e) => ({ type: e.type, data: e.data }),
      fromRecorded: (r) => ({ type: r.type, data: r.data }) as SessionEvent,
    });
    this.contexts = new AggregateCache(store, {
      decider: contextDecider,
      toNewEvent: (e) => ({ type: e.type, data: e.data }),
      fromRecorded: (r) => ({ type: r.type, data: r.data }) as SessionContextUpdated,
    });
  }

  async execute(
    command: SessionCommand,
    metadata: EventMetadataInput,
  ): Promise<CachedExecution<SessionEvent, SessionState>> {
    const result = await this.sessions.execute(sessionStreamId(command.sessionId), command, metadata);
    if (result.events.length > 0) this.wake(command.sessionId);
    return result;
  }

  state(sessionId: string): Promise<CachedAggregate<SessionState>> {
    return this.sessions.get(sessionStreamId(sessionId));
  }

  putContext(
    command: PutContext,
    metadata: EventMetadataInput,
  ): Promise<CachedExecution<SessionContextUpdated, ContextState>> {
    return this.contexts.execute(contextStreamId(command.sessionId, command.key), command, metadata);
  }

  context(sessionId: string, key: string): Promise<CachedAggregate<ContextState>> {
    return this.contexts.get(contextStreamId(sessionId, key));
  }

  observe(recorded: RecordedEvent): void {
    if (recorded.type === CONTEXT_UPDATED) {
      this.contexts.observe(recorded);
      return;
    }
    this.sessions.observe(recorded);
    const sessionId = (recorded.data as { sessionId?: string }).sessionId;
    if (sessionId) this.wake(sessionId);
  }

  /** Registers a wait for the session's next change (a message, its close), up to `timeoutMs`. */
  nextChange(sessionId: string, timeoutMs: number): ChangeWait {
    let finish = (): void => undefined;
    const changed = new Promise<void>((resolve) => {
      const timer = setTimeout(() => finish(), timeoutMs);
      finish = () => {
        clearTimeout(timer);
        this.waiters.get(sessionId)?.delete(finish);
        if (this.waiters.get(sessionId)?.size === 0) this.waiters.delete(sessionId);
        resolve();
      };
    });
    const waiting = this.waiters.get(sessionId) ?? new Set();
    waiting.add(finish);
    this.waiters.set(sessionId, waiting);
    return { changed, cancel: () => finish() };
  }

  private wake(sessionId: string): void {
    for (const finish of [...(this.waiters.get(sessionId) ?? [])]) finish();
  }
}
