import { create } from '@bufbuild/protobuf';
import { Inject, Injectable } from '@nestjs/common';
import {
  AgentAckSchema,
  AgentAssignmentSchema,
  SelectionSchema,
  commandInfo,
  type AgentAck,
  type AgentAssignment,
  type AssignAgent,
  type ReleaseAgent,
  type SelectAgent,
  type Selection,
} from '@orch/contracts';
import { agentStatus, type SelectionData, type SelectionRequest } from '@orch/coordination';
import { isDomainError } from '@orch/domain-kit';
import type { EventMetadataInput } from '@orch/eventstore';
import { CommandHandler, commandMetadata, type CommandContext } from '@orch/messaging';
import { FleetService } from '../fleet/fleet.service';
import type { CoordinationMetrics } from '../metrics';
import { CLOCK, COORDINATION_METRICS, type Clock } from '../tokens';

/** Candidates tried, best first, before a task is left waiting for capacity. */
export const MAX_ASSIGN_ATTEMPTS = 3;

export const toSelection = (s: SelectionData): Selection =>
  create(SelectionSchema, {
    strategy: s.strategy,
    agentId: s.agentId,
    candidates: s.candidates.map((c) => ({ agentId: c.agentId, score: c.score, reasons: [...c.reasons] })),
    eligible: s.eligible,
    notes: [...s.notes],
  });

/** `attempt 2 of task t1`, or `task t1` when the request names no attempt. */
const attemptText = (m: AssignAgent): string =>
  m.attempt > 0 ? `attempt ${m.attempt} of task ${m.taskId}` : `task ${m.taskId}`;

const requestOf = (m: SelectAgent | AssignAgent): SelectionRequest => ({
  capabilities: m.capabilities,
  strategy: m.strategy,
  provider: m.provider,
  agentIds: m.agentIds,
  excludeAgentIds: m.excludeAgentIds,
  ...('pinnedAgentId' in m && m.pinnedAgentId ? { pinnedAgentId: m.pinnedAgentId } : {}),
});

/**
 * Selection and slots (docs/orchestration.md step 3). AssignAgent ranks the candidates from the
 * in-memory index and takes a slot on the best one's stream, guarded by its version; an agent that
 * refuses (full, draining, unhealthy: another replica may have got there first) makes way for the
 * next. No agent with a free slot is an answer, not an error: the task stays ready.
 *
 * Slots are per attempt of a task (libs/coordination task-slots.ts): a repeated AssignAgent for the
 * attempt an agent holds answers with that agent, while the task's next attempt takes a slot of its
 * own even when the slot of the attempt that ended has not been released yet.
 */
@Injectable()
export class AssignmentsHandlers {
  constructor(
    private readonly fleet: FleetService,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(COORDINATION_METRICS) private readonly metrics: CoordinationMetrics,
  ) {}

  /** A dry run: the ranking AssignAgent would use. */
  @CommandHandler(commandInfo('coordination.SelectAgent'))
  async select(message: SelectAgent): Promise<Selection> {
    return toSelection(this.rank(requestOf(message)));
  }

  @CommandHandler(commandInfo('coordination.AssignAgent'))
  async assign(message: AssignAgent, ctx: CommandContext): Promise<AgentAssignment> {
    const metadata = commandMetadata(ctx, message);
    const holder = this.fleet.index.holderOf(message.taskId, message.attempt);
    if (holder && (!message.pinnedAgentId || message.pinnedAgentId === holder)) {
      return this.alreadyAssigned(holder, message);
    }
    const selection = this.rank(requestOf(message));
    const refusals: string[] = [];
    for (const candidate of selection.candidates.slice(0, MAX_ASSIGN_ATTEMPTS)) {
      const chosen = {
        ...selection,
        agentId: candidate.agentId,
        notes: [...selection.notes, ...refusals.map((r) => `passed over ${r}`)],
      };
      const assigned = await this.take(candidate.agentId, message, chosen, metadata).catch((err: unknown) => {
        if (!isDomainError(err)) throw err;
        refusals.push(`${candidate.agentId}: ${err.message}`);
        return undefined;
      });
      if (assigned) {
        this.metrics.assignments.inc({ outcome: 'assigned' });
        return assigned;
      }
    }
    this.metrics.assignments.inc({ outcome: 'no_agent' });
    const reason =
      refusals.length > 0
        ? `every candidate refused the task: ${refusals.join('; ')}`
        : (selection.notes[selection.notes.length - 1] ?? 'no eligible agent');
    return create(AgentAssignmentSchema, { assigned: false, selection: toSelection(selection), reason });
  }

  @CommandHandler(commandInfo('coordination.ReleaseAgent'))
  async release(message: ReleaseAgent, ctx: CommandContext): Promise<AgentAck> {
    const { state, version } = await this.fleet.execute(
      {
        type: 'ReleaseTask',
        agentId: message.agentId,
        taskId: message.taskId,
        attempt: message.attempt,
        reason: message.reason || 'released',
        at: this.clock.now(),
      },
      commandMetadata(ctx, message),
    );
    return create(AgentAckSchema, {
      agentId: message.agentId,
      status: agentStatus(state),
      streamVersion: version,
    });
  }

  private rank(request: SelectionRequest): SelectionData {
    const started = performance.now();
    const selection = this.fleet.index.select(request, this.clock.now());
    this.metrics.selectionDuration.observe(
      { strategy: selection.strategy },
      (performance.now() - started) / 1000,
    );
    return selection;
  }

  /** Takes a slot on `agentId`; a domain error when the agent refuses. */
  private async take(
    agentId: string,
    message: AssignAgent,
    selection: SelectionData,
    metadata: EventMetadataInput,
  ): Promise<AgentAssignment> {
    const release = this.fleet.index.reserveSlot(agentId);
    let version: bigint;
    try {
      ({ version } = await this.fleet.execute(
        {
          type: 'AssignTask',
          agentId,
          taskId: message.taskId,
          attempt: message.attempt,
          sessionId: message.sessionId,
          selection,
          at: this.clock.now(),
        },
        metadata,
      ));
    } finally {
      release();
    }
    return create(AgentAssignmentSchema, {
      assigned: true,
      agentId,
      streamVersion: version,
      selection: toSelection(selection),
      ...this.providerOf(agentId),
    });
  }

  /** The agent's provider and labels, which decide the pools its task claims by scope. */
  private providerOf(agentId: string): { provider: string; labels: Record<string, string> } {
    const profile = this.fleet.index.get(agentId)?.profile;
    return { provider: profile?.provider ?? '', labels: { ...profile?.labels } };
  }

  /** A retried AssignAgent for an attempt an agent already holds: the same answer, nothing taken. */
  private alreadyAssigned(agentId: string, message: AssignAgent): AgentAssignment {
    this.metrics.assignments.inc({ outcome: 'already_assigned' });
    const agent = this.fleet.index.get(agentId);
    return create(AgentAssignmentSchema, {
      assigned: true,
      agentId,
      ...this.providerOf(agentId),
      streamVersion: BigInt(agent?.version ?? 0),
      selection: toSelection({
        strategy: message.strategy || 'weighted',
        agentId,
        candidates: [],
        eligible: 0,
        notes: [`${attemptText(message)} is already held by ${agentId}`],
      }),
    });
  }
}
