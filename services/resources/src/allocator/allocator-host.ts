import {
  Inject,
  Injectable,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
  type OnModuleInit,
} from '@nestjs/common';
import {
  ALLOCATOR_STREAM,
  DEFAULT_ALLOCATOR_OPTIONS,
  allocatorDecider,
  allocatorEventTypes,
  nextWakeAt,
  readAllocatorEvent,
  type AllocatorCommand,
  type AllocatorEvent,
  type AllocatorOptions,
  type AllocatorState,
} from '@orch/resources';
import {
  AggregateCache,
  LogFollower,
  type CachedExecution,
  type EventMetadataInput,
  type EventStore,
} from '@orch/eventstore';
import { MESSAGING_LOGGER } from '@orch/messaging';
import type { Logger } from 'pino';
import {
  CLOCK,
  EVENT_STORE,
  RESOURCES_OPTIONS,
  SERVICE,
  type Clock,
  type ResourcesModuleOptions,
} from '../tokens';

export type AllocatorExecution = CachedExecution<AllocatorEvent, AllocatorState>;

/**
 * The allocator aggregate in memory (docs/adr/0009): folded from its stream at start, kept current
 * from the global log (other replicas' writes), decided on in memory and appended with the version
 * it knows, commands queued meanwhile decided together in one append (AggregateCache).
 *
 * Time moves the allocator too: rate buckets refill, reservations open and close, budget periods
 * start, waiters age. After every change the host arms one timer for the earliest time a `Tick`
 * could grant something (never later than `tickMaxMs` while anyone waits, so aging is applied).
 */
@Injectable()
export class AllocatorHost implements OnModuleInit, OnApplicationBootstrap, BeforeApplicationShutdown {
  /** The decider's options; queries that order waiters must use the same ones. */
  readonly deciderOptions: AllocatorOptions;
  private readonly cache: AggregateCache<AllocatorCommand, AllocatorEvent, AllocatorState>;
  private readonly follower: LogFollower;
  private readonly listeners: ((events: readonly AllocatorEvent[]) => void)[] = [];
  private timer: NodeJS.Timeout | undefined;
  private timerDue = 0;
  private stopped = true;

  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(RESOURCES_OPTIONS) private readonly options: ResourcesModuleOptions,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(MESSAGING_LOGGER) private readonly logger: Logger,
  ) {
    this.deciderOptions = { ...DEFAULT_ALLOCATOR_OPTIONS, agingStepMs: options.agingStepMs };
    this.cache = new AggregateCache(store, {
      decider: allocatorDecider(this.deciderOptions),
      toNewEvent: (e) => ({ type: e.type, data: e.data }),
      // Every replica's allocations and releases write to the one stream.
      maxRetries: 50,
      fromRecorded: (r) => {
        const event = readAllocatorEvent(r.type, r.data);
        if (!event) throw new Error(`stream ${r.streamId} holds ${r.type}, which is not an allocator event`);
        return event;
      },
    });
    this.follower = new LogFollower(store, {
      filter: { sources: [SERVICE], types: allocatorEventTypes },
      apply: (recorded) => {
        if (recorded.streamId !== ALLOCATOR_STREAM) return;
        const before = this.cache.peek(ALLOCATOR_STREAM)?.version ?? 0n;
        const after = this.cache.observe(recorded);
        if (after && after.version > before) {
          const event = readAllocatorEvent(recorded.type, recorded.data);
          if (event) this.changed([event]);
        }
      },
      onError: (err, recorded) =>
        this.logger.warn(
          { err, eventId: recorded.eventId },
          'could not fold an allocator event from the log',
        ),
    });
  }

  async onModuleInit(): Promise<void> {
    const started = performance.now();
    const { version } = await this.cache.get(ALLOCATOR_STREAM);
    // The stream was read whole: the log is followed from its head.
    await this.follower.catchUp();
    this.logger.info(
      { events: version.toString(), ms: Math.round(performance.now() - started) },
      'allocator rebuilt from the event store',
    );
  }

  onApplicationBootstrap(): void {
    this.stopped = false;
    this.follower.start((err) => this.logger.error({ err }, 'following the event store stopped'));
    this.arm();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.follower.stop();
  }

  /** Called with the events of every change, own or another replica's. */
  onChange(listener: (events: readonly AllocatorEvent[]) => void): void {
    this.listeners.push(listener);
  }

  /** The allocator as this replica knows it (the stream is loaded before anything is served). */
  get state(): AllocatorState {
    const cached = this.cache.peek(ALLOCATOR_STREAM);
    return cached?.state ?? allocatorDecider().initialState();
  }

  /** Decides and appends; domain errors propagate and change nothing. */
  async execute(command: AllocatorCommand, metadata: EventMetadataInput): Promise<AllocatorExecution> {
    const outcome = await this.cache.execute(ALLOCATOR_STREAM, command, metadata);
    if (outcome.events.length > 0) this.changed(outcome.events);
    return outcome;
  }

  private changed(events: readonly AllocatorEvent[]): void {
    for (const listener of this.listeners) listener(events);
    this.arm();
  }

  /** (Re)arms the tick for the earliest time it could grant something. */
  private arm(): void {
    if (this.stopped) return;
    const now = this.clock.now();
    const state = this.state;
    const wake = nextWakeAt(state, now, this.deciderOptions);
    const anyWaiting = state.waiters.size > 0;
    let due = wake ? wake.getTime() : Number.POSITIVE_INFINITY;
    if (anyWaiting) due = Math.min(due, now.getTime() + this.options.tickMaxMs);
    if (!Number.isFinite(due)) {
      clearTimeout(this.timer);
      this.timer = undefined;
      return;
    }
    if (this.timer && this.timerDue <= due) return;
    clearTimeout(this.timer);
    this.timerDue = due;
    this.timer = setTimeout(() => void this.tick(), Math.max(0, due - now.getTime()));
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    this.timer = undefined;
    if (this.stopped) return;
    try {
      const outcome = await this.execute({ type: 'Tick', at: this.clock.now() }, {});
      if (outcome.events.length === 0) this.arm();
    } catch (err) {
      this.logger.warn({ err }, 'an allocator tick failed; trying again shortly');
      this.timerDue = 0;
      this.timer = setTimeout(() => void this.tick(), this.options.tickMaxMs);
      this.timer.unref();
    }
  }
}
