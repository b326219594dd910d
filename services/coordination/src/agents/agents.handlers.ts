import { create } from '@bufbuild/protobuf';
import { Inject, Injectable } from '@nestjs/common';
import {
  AgentPageSchema,
  AgentRegistrationSchema,
  commandTypes,
  type AgentPage,
  type AgentRegistration,
  type AgentView,
  type GetAgent,
  type ListAgents,
  type RegisterAgent,
} from '@orch/contracts';
import { agentDecider, agentStreamId, type AgentEvent } from '@orch/coordination';
import { NotFoundError, ValidationError } from '@orch/domain-kit';
import { executeCommand, isUuid, type EventStore } from '@orch/eventstore';
import { CommandHandler, type CommandContext } from '@orch/messaging';
import { AGENT_READER, CLOCK, EVENT_STORE, type Clock } from '../tokens';
import { toAgentEvent, toAgentView, toRegisterAgent } from './agent.mapping';
import { decodeCursor, findAgent, listAgents, type AgentReader } from './agent.read-model';

const command = (name: string) => {
  const info = commandTypes.get(`coordination.${name}`);
  if (!info) throw new Error(`proto/ declares no command coordination.${name}`);
  return info;
};

export const MAX_PAGE = 500;

/** NATS adapters of the agent use cases: map the wire to the domain and back, nothing else. */
@Injectable()
export class AgentsHandlers {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(AGENT_READER) private readonly reader: AgentReader,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  @CommandHandler(command('RegisterAgent'))
  async register(message: RegisterAgent, ctx: CommandContext): Promise<AgentRegistration> {
    if (!isUuid(message.agentId)) {
      throw new ValidationError('invalid agent id', [{ path: 'agentId', message: 'must be a UUID' }]);
    }
    const { state, result } = await executeCommand(this.store, {
      streamId: agentStreamId(message.agentId),
      decider: agentDecider,
      command: toRegisterAgent(message, this.clock.now()),
      metadata: {
        correlationId: ctx.correlationId,
        causationId: ctx.commandId,
        traceparent: ctx.traceparent,
        ...(ctx.principal ? { principal: ctx.principal } : {}),
        command: { name: ctx.command, payload: { ...message, $typeName: undefined } },
      },
      toNewEvent: (e: AgentEvent) => ({ type: e.type, data: e.data }),
      fromRecorded: (r) => {
        const event = toAgentEvent(r.type, r.data);
        if (!event) throw new Error(`stream ${r.streamId} holds ${r.type}, which is not an agent event`);
        return event;
      },
    });
    const version =
      result?.nextExpectedVersion ??
      (state.status === 'unregistered' ? 0n : await this.store.streamVersion(agentStreamId(message.agentId)));
    return create(AgentRegistrationSchema, { agentId: message.agentId, streamVersion: version });
  }

  @CommandHandler(command('GetAgent'))
  async get(message: GetAgent): Promise<AgentView> {
    const doc = await findAgent(this.reader, message.agentId);
    if (!doc)
      throw new NotFoundError(`agent ${message.agentId} does not exist`, { agentId: message.agentId });
    return toAgentView(doc);
  }

  @CommandHandler(command('ListAgents'))
  async list(message: ListAgents): Promise<AgentPage> {
    const limit = message.limit === 0 ? 50 : message.limit;
    if (limit > MAX_PAGE)
      throw new ValidationError('invalid page size', [
        { path: 'limit', message: `must be at most ${MAX_PAGE}` },
      ]);
    const after = message.cursor === '' ? undefined : decodeCursor(message.cursor);
    if (message.cursor !== '' && after === undefined) {
      throw new ValidationError('invalid cursor', [
        { path: 'cursor', message: 'is not a cursor this service issued' },
      ]);
    }
    const page = await listAgents(this.reader, limit, after);
    return create(AgentPageSchema, { items: page.items.map(toAgentView), nextCursor: page.nextCursor ?? '' });
  }
}
