import { create } from '@bufbuild/protobuf';
import { Inject, Injectable } from '@nestjs/common';
import {
  ConflictPageSchema,
  ResolveConflictSchema,
  commandInfo,
  type ConflictPage,
  type ConflictResolution,
  type ConflictView,
  type ListConflicts,
  type ResolveConflictRequest,
} from '@orch/contracts';
import { CommandBus, CommandHandler, type CommandContext } from '@orch/messaging';
import { CLOCK, type Clock } from '../tokens';
import { ConflictBook } from './conflict-book';
import { checkResolvable, encodeCursor, listQuery, resolveRequest } from './conflict-queries';
import { toConflictView } from './conflict.mapping';
import { passThrough } from './remote-errors';

const ALLOCATOR_RESOLVE = commandInfo('resources.ResolveConflict');
/** Time kept to answer our caller after the allocator's reply, within the caller's deadline. */
const REPLY_MARGIN_MS = 250;
/** The allocator is given at least this long, whatever the caller's deadline says. */
const MIN_ALLOCATOR_TIMEOUT_MS = 500;

/**
 * NATS adapters of the conflict desk (conflicts.proto): list the book, and route an operator's
 * resolution to the allocator, where every resolution is decided.
 */
@Injectable()
export class ConflictsHandlers {
  constructor(
    private readonly book: ConflictBook,
    @Inject(CommandBus) private readonly bus: CommandBus,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  @CommandHandler(commandInfo('conflicts.ListConflicts'))
  async list(message: ListConflicts): Promise<ConflictPage> {
    const page = this.book.page(listQuery(message));
    return create(ConflictPageSchema, {
      items: page.items.map(toConflictView),
      nextCursor: page.next ? encodeCursor(page.next) : '',
    });
  }

  /**
   * Checks the resolution against the book, asks the allocator (`resources.ResolveConflict`) and
   * answers the conflict as it is after the allocator's reply. The allocator's rejections reach
   * the caller unchanged (it decides on the current holds; the book may lag behind it).
   */
  @CommandHandler(commandInfo('conflicts.ResolveConflict'))
  async resolve(message: ResolveConflictRequest, ctx: CommandContext): Promise<ConflictView> {
    const request = resolveRequest(message);
    const conflict = checkResolvable(this.book.get(request.conflictId), request);
    let reply: ConflictResolution;
    try {
      reply = await this.bus.request<ConflictResolution>(
        ALLOCATOR_RESOLVE,
        create(ResolveConflictSchema, request),
        {
          correlationId: ctx.correlationId,
          causationId: ctx.commandId,
          ...(ctx.principal ? { principal: ctx.principal } : {}),
          ...this.timeout(ctx),
        },
      );
    } catch (err) {
      throw passThrough(err);
    }
    return toConflictView(this.book.accept(conflict, reply, this.clock.now()));
  }

  /** The allocator's timeout: what is left of the caller's, less time to answer it. */
  private timeout(ctx: CommandContext): { timeoutMs?: number } {
    if (!ctx.deadline) return {};
    const left = ctx.deadline.getTime() - this.clock.now().getTime() - REPLY_MARGIN_MS;
    return { timeoutMs: Math.max(MIN_ALLOCATOR_TIMEOUT_MS, left) };
  }
}
