import { create } from '@bufbuild/protobuf';
import { Inject, Injectable } from '@nestjs/common';
import {
  AgentAckSchema,
  AgentPageSchema,
  AgentRegistrationSchema,
  commandInfo,
  type AgentAck,
  type AgentPage,
  type AgentRegistration,
  type AgentView,
  type DeregisterAgent,
  type DrainAgent,
  type GetAgent,
  type Heartbeat,
  type ListAgents,
  type RegisterAgent,
} from '@orch/contracts';
import { agentStatus, type AgentDocument, type AgentState } from '@orch/coordination';
import { NotFoundError, ValidationError } from '@orch/domain-kit';
import { isUuid, type CachedAggregate } from '@orch/eventstore';
import { CommandHandler, commandMetadata, type CommandContext } from '@orch/messaging';
import { FleetService } from '../fleet/fleet.service';
import { HeartbeatBroadcast } from '../fleet/heartbeats';
import { AGENT_READER, CLOCK, type Clock } from '../tokens';
import { toAgentView, toRegisterAgent } from './agent.mapping';
import { decodeCursor, findAgent, listAgents, type AgentReader } from './agent.read-model';

export const MAX_PAGE = 500;

const ack = (agentId: string, { state, version }: CachedAggregate<AgentState>): AgentAck =>
  create(AgentAckSchema, { agentId, status: agentStatus(state), streamVersion: version });

/** NATS adapters of the agent use cases: map the wire to the domain and back, nothing else. */
@Injectable()
export class AgentsHandlers {
  constructor(
    private readonly fleet: FleetService,
    private readonly heartbeats: HeartbeatBroadcast,
    @Inject(AGENT_READER) private readonly reader: AgentReader,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  @CommandHandler(commandInfo('coordination.RegisterAgent'))
  async register(message: RegisterAgent, ctx: CommandContext): Promise<AgentRegistration> {
    if (!isUuid(message.agentId)) {
      throw new ValidationError('invalid agent id', [{ path: 'agentId', message: 'must be a UUID' }]);
    }
    const { version } = await this.fleet.execute(
      toRegisterAgent(message, this.clock.now()),
      commandMetadata(ctx, message),
    );
    return create(AgentRegistrationSchema, { agentId: message.agentId, streamVersion: version });
  }

  @CommandHandler(commandInfo('coordination.GetAgent'))
  async get(message: GetAgent): Promise<AgentView> {
    const doc = await findAgent(this.reader, message.agentId);
    if (!doc)
      throw new NotFoundError(`agent ${message.agentId} does not exist`, { agentId: message.agentId });
    return this.view(doc);
  }

  @CommandHandler(commandInfo('coordination.ListAgents'))
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
    return create(AgentPageSchema, {
      items: page.items.map((doc) => this.view(doc)),
      nextCursor: page.nextCursor ?? '',
    });
  }

  /** Remembers the heartbeat (on every replica); an unhealthy agent that beats has recovered. */
  @CommandHandler(commandInfo('coordination.Heartbeat'))
  async heartbeat(message: Heartbeat, ctx: CommandContext): Promise<AgentAck> {
    const now = this.clock.now();
    const current = await this.fleet.state(message.agentId);
    if (current.state.status === 'unregistered') {
      throw new NotFoundError(`agent ${message.agentId} does not exist`, { agentId: message.agentId });
    }
    this.heartbeats.announce(message.agentId, now);
    if (current.state.status !== 'registered' || current.state.health === 'healthy') {
      return ack(message.agentId, current);
    }
    const recovered = await this.fleet.execute(
      { type: 'Recover', agentId: message.agentId, at: now },
      commandMetadata(ctx, message),
    );
    return ack(message.agentId, recovered);
  }

  @CommandHandler(commandInfo('coordination.DrainAgent'))
  async drain(message: DrainAgent, ctx: CommandContext): Promise<AgentAck> {
    const result = await this.fleet.execute(
      { type: 'DrainAgent', agentId: message.agentId, at: this.clock.now() },
      commandMetadata(ctx, message),
    );
    return ack(message.agentId, result);
  }

  @CommandHandler(commandInfo('coordination.DeregisterAgent'))
  async deregister(message: DeregisterAgent, ctx: CommandContext): Promise<AgentAck> {
    const result = await this.fleet.execute(
      { type: 'DeregisterAgent', agentId: message.agentId, reason: message.reason, at: this.clock.now() },
      commandMetadata(ctx, message),
    );
    return ack(message.agentId, result);
  }

  private view(doc: AgentDocument): AgentView {
    return toAgentView(doc, {
      agent: this.fleet.index.get(doc.id),
      circuit: this.fleet.index.circuit(doc.id, this.clock.now()),
    });
  }
}
