import { create } from '@bufbuild/protobuf';
import { Inject, Injectable } from '@nestjs/common';
import {
  MessageAckSchema,
  MessagePageSchema,
  SessionAckSchema,
  SessionStartSchema,
  commandInfo,
  type CancelSession,
  type ContextEntry,
  type GetContext,
  type ListMessages,
  type MessageAck,
  type MessagePage,
  type PostMessage,
  type PutContext,
  type SessionAck,
  type SessionStart,
  type SessionSuggestion,
  type StartSession,
  type SuggestSession,
} from '@orch/contracts';
import {
  CONTEXT_KEY,
  assertValidSession,
  chooseRoles,
  choosePattern,
  messagesAfter,
  sessionStatus,
  suggestSession,
  type FleetFacts,
  type SessionRequest,
  type SessionState,
} from '@orch/coordination';
import type { Pattern } from '@orch/distribution';
import { NotFoundError, ValidationError } from '@orch/domain-kit';
import { isUuid } from '@orch/eventstore';
import { CommandHandler, commandMetadata, type CommandContext } from '@orch/messaging';
import { FleetService } from '../fleet/fleet.service';
import { CLOCK, COORDINATION_OPTIONS, type Clock, type CoordinationModuleOptions } from '../tokens';
import {
  jsonOf,
  toContextEntry,
  toSessionMessage,
  toSessionRequest,
  toSuggestionMessage,
  toTaskSpecData,
} from './sessions.mapping';
import { SessionsService } from './sessions.service';

export const MAX_MESSAGE_PAGE = 1_000;
const DEFAULT_MESSAGE_PAGE = 100;
/** Time left to answer a long-poll before the caller gives up on it. */
const REPLY_MARGIN_MS = 250;

const started = (sessionId: string, state: SessionState) => {
  if (state.status === 'none') throw new NotFoundError(`session ${sessionId} does not exist`, { sessionId });
  return state;
};

/** NATS adapters of sessions: start, cancel, suggest, messages and the shared context. */
@Injectable()
export class SessionsHandlers {
  constructor(
    private readonly sessions: SessionsService,
    private readonly fleet: FleetService,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(COORDINATION_OPTIONS) private readonly options: CoordinationModuleOptions,
  ) {}

  /**
   * Validates, resolves auto and gives the roles, then appends SessionStarted. A retried start is
   * answered from the recorded one (its roles are not chosen again).
   */
  @CommandHandler(commandInfo('coordination.StartSession'))
  async start(message: StartSession, ctx: CommandContext): Promise<SessionStart> {
    if (!isUuid(message.sessionId))
      throw new ValidationError('invalid session id', [{ path: 'sessionId', message: 'must be a UUID' }]);
    const request = toSessionRequest(message);
    const current = await this.sessions.state(request.sessionId);
    const resolved = current.state.status === 'none' ? this.resolve(request) : this.recorded(current.state);
    const { state } = await this.sessions.execute(
      { type: 'StartSession', ...request, resolved, fleet: this.facts(), at: this.clock.now() },
      commandMetadata(ctx, message),
    );
    const { started: s } = started(request.sessionId, state);
    return create(SessionStartSchema, {
      sessionId: s.sessionId,
      pattern: s.pattern,
      patternReason: s.patternReason,
      roles: s.roles,
    });
  }

  @CommandHandler(commandInfo('coordination.CancelSession'))
  async cancel(message: CancelSession, ctx: CommandContext): Promise<SessionAck> {
    const { state } = await this.sessions.execute(
      { type: 'CancelSession', sessionId: message.sessionId, reason: message.reason, at: this.clock.now() },
      commandMetadata(ctx, message),
    );
    return create(SessionAckSchema, { sessionId: message.sessionId, status: sessionStatus(state) });
  }

  @CommandHandler(commandInfo('coordination.SuggestSession'))
  async suggest(message: SuggestSession): Promise<SessionSuggestion> {
    return toSuggestionMessage(
      suggestSession(message.goal, message.tasks.map(toTaskSpecData), this.fleet.index),
    );
  }

  @CommandHandler(commandInfo('coordination.PostMessage'))
  async post(message: PostMessage, ctx: CommandContext): Promise<MessageAck> {
    const { state } = await this.sessions.execute(
      {
        type: 'PostMessage',
        sessionId: message.sessionId,
        messageId: message.messageId,
        from: message.from,
        to: message.to,
        body: jsonOf(message.body),
        at: this.clock.now(),
      },
      commandMetadata(ctx, message),
    );
    const posted = started(message.sessionId, state).messages.find((m) => m.messageId === message.messageId);
    return create(MessageAckSchema, {
      messageId: message.messageId,
      sequence: BigInt(posted?.sequence ?? 0),
    });
  }

  /** A page of messages; with `waitMs`, waits for the first one when there is none yet. */
  @CommandHandler(commandInfo('coordination.ListMessages'))
  async list(message: ListMessages, ctx: CommandContext): Promise<MessagePage> {
    const limit = message.limit === 0 ? DEFAULT_MESSAGE_PAGE : message.limit;
    if (limit > MAX_MESSAGE_PAGE)
      throw new ValidationError('invalid page size', [
        { path: 'limit', message: `must be at most ${MAX_MESSAGE_PAGE}` },
      ]);
    const after = Number(message.afterSequence);
    const deadline = this.clock.now().getTime() + this.waitFor(message.waitMs, ctx);
    for (;;) {
      const wait = this.sessions.nextChange(
        message.sessionId,
        Math.max(0, deadline - this.clock.now().getTime()),
      );
      const state = started(message.sessionId, (await this.sessions.state(message.sessionId)).state);
      const page = messagesAfter(state, after, limit, message.agentId || undefined);
      if (page.length > 0 || state.status === 'closed' || this.clock.now().getTime() >= deadline) {
        wait.cancel();
        return create(MessagePageSchema, {
          items: page.map(toSessionMessage),
          lastSequence: BigInt(page[page.length - 1]?.sequence ?? 0),
        });
      }
      await wait.changed;
    }
  }

  @CommandHandler(commandInfo('coordination.GetContext'))
  async getContext(message: GetContext): Promise<ContextEntry> {
    await this.requireContextKey(message.sessionId, message.key);
    const { state } = await this.sessions.context(message.sessionId, message.key);
    return toContextEntry(message.sessionId, message.key, state);
  }

  @CommandHandler(commandInfo('coordination.PutContext'))
  async putContext(message: PutContext, ctx: CommandContext): Promise<ContextEntry> {
    await this.requireContextKey(message.sessionId, message.key);
    const { state } = await this.sessions.putContext(
      {
        type: 'PutContext',
        sessionId: message.sessionId,
        key: message.key,
        value: jsonOf(message.value),
        ...(message.checkVersion ? { expectedVersion: Number(message.expectedVersion) } : {}),
        at: this.clock.now(),
      },
      commandMetadata(ctx, message),
    );
    return toContextEntry(message.sessionId, message.key, state);
  }

  /** auto resolved to a pattern with its reason, and the pattern's roles given to agents. */
  private resolve(request: SessionRequest) {
    const facts = this.facts();
    assertValidSession(request, facts);
    const choice =
      request.pattern === 'auto'
        ? choosePattern(request.goal, request.tasks)
        : { pattern: request.pattern as Pattern, reason: '' };
    return {
      ...choice,
      roles: chooseRoles(choice.pattern, request.tasks, this.fleet.index, request.agentIds),
    };
  }

  private recorded(state: Exclude<SessionState, { status: 'none' }>) {
    const { pattern, patternReason, roles } = state.started;
    return { pattern, reason: patternReason, roles };
  }

  private facts(): FleetFacts {
    const index = this.fleet.index;
    return { offers: (c) => index.offers(c), isRegistered: (id) => index.isRegistered(id) };
  }

  /** How long a long-poll may wait: what was asked, within the service's limit and the caller's deadline. */
  private waitFor(waitMs: number, ctx: CommandContext): number {
    const callerLeft = ctx.deadline
      ? ctx.deadline.getTime() - this.clock.now().getTime() - REPLY_MARGIN_MS
      : Infinity;
    return Math.max(0, Math.min(waitMs, this.options.messagesMaxWaitMs, callerLeft));
  }

  private async requireContextKey(sessionId: string, key: string): Promise<void> {
    if (!CONTEXT_KEY.test(key))
      throw new ValidationError('invalid context key', [
        { path: 'key', message: 'must be 1 to 200 letters, digits or . _ : -' },
      ]);
    started(sessionId, (await this.sessions.state(sessionId)).state);
  }
}
