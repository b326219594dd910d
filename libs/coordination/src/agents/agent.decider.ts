import {
  canonicalJson,
  ConflictError,
  IllegalStateError,
  NotFoundError,
  ValidationError,
  assertNever,
  rfc3339,
  textProblems,
  type Decider,
  type FieldProblem,
} from '@orch/domain-kit';
import { GENERIC_AGENT_TYPE, catalogueEntry, knownAgentTypes } from '../catalogue/catalogue';
import type {
  AgentCommand,
  AssignTask,
  DeregisterAgent,
  DrainAgent,
  MarkUnhealthy,
  Recover,
  RegisterAgent,
  ReleaseTask,
} from './agent.commands';
import type { AgentEvent, AgentRegistered, CapabilityData } from './agent.events';
import { statusOf, type AgentHealth, type AgentStatus } from './agent.status';
import {
  earliestAttempt,
  recordsAssignment,
  releasedBy,
  slotTaskIds,
  withSlot,
  withoutSlot,
  type TaskSlot,
} from './task-slots';

// ---------------------------------------------------------------- state

export type AgentProfile = AgentRegistered['data'];

/** A registered agent: what it can do, the slots it holds and whether it may take work. */
export interface RegisteredAgent {
  readonly status: 'registered';
  readonly profile: AgentProfile;
  /** The attempts of tasks it holds, in the order it took them; one slot each (task-slots.ts). */
  readonly slots: readonly TaskSlot[];
  readonly health: AgentHealth;
  readonly draining: boolean;
  /** The last heartbeat its stream knows of (recorded when it became unhealthy). */
  readonly lastHeartbeatAt?: string;
}

/** An agent's lifecycle, as far as its own stream knows it. */
export type AgentState =
  | { readonly status: 'unregistered' }
  | RegisteredAgent
  | { readonly status: 'deregistered'; readonly profile: AgentProfile; readonly reason: string };

/** Stream that holds one agent's events. */
export const agentStreamId = (agentId: string): string => `agent-${agentId}`;

export const MAX_CONCURRENCY_LIMIT = 1000;
export const MAX_CAPABILITIES = 64;

/** The status the API shows; an agent that was never registered counts as offline. */
export const agentStatus = (state: AgentState): AgentStatus =>
  state.status === 'registered'
    ? statusOf({
        offline: false,
        health: state.health,
        draining: state.draining,
        activeTasks: state.slots.length,
      })
    : 'offline';

// ---------------------------------------------------------------- register

/** The capabilities a registration ends up with: its own, or its catalogue type's defaults. */
const capabilitiesOf = (c: RegisterAgent): readonly CapabilityData[] =>
  c.capabilities.length > 0 ? c.capabilities : (catalogueEntry(c.agentType)?.capabilities ?? []);

function validateRegistration(c: RegisterAgent, capabilities: readonly CapabilityData[]): FieldProblem[] {
  const problems: FieldProblem[] = [
    ...textProblems('name', c.name, 200),
    ...textProblems('provider', c.provider, 100),
    ...textProblems('model', c.model, 200),
  ];
  if (!knownAgentTypes.includes(c.agentType)) {
    problems.push({
      path: 'agentType',
      message: `unknown agent type "${c.agentType}"; known types: ${knownAgentTypes.join(', ')}`,
    });
  }
  if (
    !Number.isInteger(c.maxConcurrency) ||
    c.maxConcurrency < 1 ||
    c.maxConcurrency > MAX_CONCURRENCY_LIMIT
  ) {
    problems.push({
      path: 'maxConcurrency',
      message: `must be an integer from 1 to ${MAX_CONCURRENCY_LIMIT}`,
    });
  }
  problems.push(...validateCapabilities(capabilities, c.agentType));
  for (const [field, value] of Object.entries(c.cost)) {
    if (!(Number.isFinite(value) && value >= 0))
      problems.push({ path: `cost.${field}`, message: 'must be a non-negative number' });
  }
  return problems;
}

function validateCapabilities(capabilities: readonly CapabilityData[], agentType: string): FieldProblem[] {
  const problems: FieldProblem[] = [];
  if (capabilities.length === 0) {
    const hint = agentType === GENERIC_AGENT_TYPE ? ' (a generic agent has no default capabilities)' : '';
    problems.push({ path: 'capabilities', message: `must name at least one capability${hint}` });
  }
  if (capabilities.length > MAX_CAPABILITIES) {
    problems.push({ path: 'capabilities', message: `must have at most ${MAX_CAPABILITIES} entries` });
  }
  const seen = new Set<string>();
  capabilities.forEach((cap, i) => {
    if (cap.name.trim() === '')
      problems.push({ path: `capabilities[${i}].name`, message: 'must not be empty' });
    if (seen.has(cap.name))
      problems.push({ path: `capabilities[${i}].name`, message: `duplicate capability "${cap.name}"` });
    seen.add(cap.name);
    if (!(cap.level >= 0 && cap.level <= 1))
      problems.push({ path: `capabilities[${i}].level`, message: 'must be between 0 and 1' });
  });
  return problems;
}

const profileOf = (c: RegisterAgent, capabilities: readonly CapabilityData[]): AgentProfile => ({
  agentId: c.agentId,
  name: c.name,
  provider: c.provider,
  model: c.model,
  capabilities: capabilities.map((cap) => ({ name: cap.name, level: cap.level })),
  maxConcurrency: c.maxConcurrency,
  cost: {
    per1kInputTokensUsd: c.cost.per1kInputTokensUsd,
    per1kOutputTokensUsd: c.cost.per1kOutputTokensUsd,
  },
  labels: { ...c.labels },
  agentType: c.agentType,
  registeredAt: rfc3339(c.at),
});

/** The same registration, ignoring when it was made: a retry of a command that already succeeded. */
const sameRegistration = (a: AgentProfile, b: AgentProfile): boolean =>
  canonicalJson({ ...a, registeredAt: '' }) === canonicalJson({ ...b, registeredAt: '' });

function register(c: RegisterAgent, state: AgentState): AgentEvent[] {
  const capabilities = capabilitiesOf(c);
  const problems = validateRegistration(c, capabilities);
  if (problems.length > 0) throw new ValidationError('invalid agent registration', problems);
  const profile = profileOf(c, capabilities);
  switch (state.status) {
    case 'unregistered':
      return [{ type: 'AgentRegistered', data: profile }];
    case 'registered':
      if (sameRegistration(state.profile, profile)) return [];
      throw new ConflictError(`agent ${c.agentId} is already registered`, { agentId: c.agentId });
    case 'deregistered':
      throw new IllegalStateError(`agent ${c.agentId} was deregistered; register it under a new id`, {
        agentId: c.agentId,
      });
    default:
      return assertNever(state, 'agent state');
  }
}

// ---------------------------------------------------------------- lifecycle

const notFound = (agentId: string): NotFoundError =>
  new NotFoundError(`agent ${agentId} does not exist`, { agentId });

function deregister(c: DeregisterAgent, state: AgentState): AgentEvent[] {
  switch (state.status) {
    case 'unregistered':
      throw notFound(c.agentId);
    case 'deregistered':
      return [];
    case 'registered':
      return [
        {
          type: 'AgentDeregistered',
          data: { agentId: c.agentId, reason: c.reason, deregisteredAt: rfc3339(c.at) },
        },
      ];
    default:
      return assertNever(state, 'agent state');
  }
}

/** The registered agent, or the error a command addressed to any other state deserves. */
function requireRegistered(agentId: string, state: AgentState, doing: string): RegisteredAgent {
  if (state.status === 'unregistered') throw notFound(agentId);
  if (state.status === 'deregistered') {
    throw new IllegalStateError(`agent ${agentId} was deregistered; it cannot ${doing}`, { agentId });
  }
  return state;
}

function drain(c: DrainAgent, state: AgentState): AgentEvent[] {
  const agent = requireRegistered(c.agentId, state, 'be drained');
  if (agent.draining) return [];
  return [{ type: 'AgentDraining', data: { agentId: c.agentId, at: rfc3339(c.at) } }];
}

function markUnhealthy(c: MarkUnhealthy, state: AgentState): AgentEvent[] {
  if (state.status === 'unregistered') throw notFound(c.agentId);
  if (state.status === 'deregistered' || state.health === 'unhealthy') return [];
  return [
    {
      type: 'AgentBecameUnhealthy',
      data: {
        agentId: c.agentId,
        ...(c.lastHeartbeatAt ? { lastHeartbeatAt: rfc3339(c.lastHeartbeatAt) } : {}),
        releasedTaskIds: slotTaskIds(state.slots),
        at: rfc3339(c.at),
      },
    },
  ];
}

function recover(c: Recover, state: AgentState): AgentEvent[] {
  if (state.status === 'unregistered') throw notFound(c.agentId);
  if (state.status === 'deregistered' || state.health === 'healthy') return [];
  return [{ type: 'AgentRecovered', data: { agentId: c.agentId, at: rfc3339(c.at) } }];
}

// ---------------------------------------------------------------- slots

function validateAssignment(c: AssignTask): void {
  const problems: FieldProblem[] = [];
  if (c.taskId.trim() === '') problems.push({ path: 'taskId', message: 'must not be empty' });
  if (!(Number.isInteger(c.attempt) && c.attempt >= 0))
    problems.push({ path: 'attempt', message: 'must be a non-negative integer' });
  if (problems.length > 0) throw new ValidationError('invalid assignment', problems);
}

/**
 * Takes a slot for the attempt. A repeat of an attempt held takes nothing; another attempt of a
 * task held (its retry, assigned before the release of the attempt that ended) takes a slot of its
 * own, so that the late release frees the old slot only; capacity counts both until then.
 */
function assign(c: AssignTask, state: AgentState): AgentEvent[] {
  validateAssignment(c);
  const agent = requireRegistered(c.agentId, state, 'take work');
  if (agent.slots.some((s) => recordsAssignment(s, c.taskId, c.attempt))) return [];
  const details = { agentId: c.agentId, taskId: c.taskId, attempt: c.attempt };
  if (agent.health === 'unhealthy') {
    throw new IllegalStateError(
      `agent ${c.agentId} is unhealthy (it missed its heartbeats); it takes no work until it recovers`,
      details,
    );
  }
  if (agent.draining)
    throw new IllegalStateError(`agent ${c.agentId} is draining; it takes no new work`, details);
  const { maxConcurrency } = agent.profile;
  if (agent.slots.length >= maxConcurrency) {
    throw new ConflictError(
      `agent ${c.agentId} is at capacity (${agent.slots.length} of ${maxConcurrency} slots taken)`,
      { ...details, maxConcurrency, activeTasks: agent.slots.length },
    );
  }
  return [
    {
      type: 'AgentTaskAssigned',
      data: {
        agentId: c.agentId,
        taskId: c.taskId,
        sessionId: c.sessionId,
        selection: c.selection,
        assignedAt: rfc3339(c.at),
        attempt: c.attempt,
      },
    },
  ];
}

/** Gives back the slot of the attempt named (every slot of the task for 0); a no-op when none is held. */
function release(c: ReleaseTask, state: AgentState): AgentEvent[] {
  if (state.status !== 'registered') return [];
  const attempt = c.attempt === 'earliest' ? earliestAttempt(state.slots, c.taskId) : c.attempt;
  if (attempt === undefined || !state.slots.some((s) => releasedBy(s, c.taskId, attempt))) return [];
  return [
    {
      type: 'AgentTaskReleased',
      data: {
        agentId: c.agentId,
        taskId: c.taskId,
        reason: c.reason,
        releasedAt: rfc3339(c.at),
        attempt,
      },
    },
  ];
}

// ---------------------------------------------------------------- evolve

/** Applies `change` to a registered agent; events for other states change nothing. */
const whenRegistered = (
  state: AgentState,
  change: (agent: RegisteredAgent) => Partial<RegisteredAgent>,
): AgentState => (state.status === 'registered' ? { ...state, ...change(state) } : state);

function evolve(state: AgentState, event: AgentEvent): AgentState {
  switch (event.type) {
    case 'AgentRegistered':
      return {
        status: 'registered',
        profile: event.data,
        slots: [],
        health: 'healthy',
        draining: false,
      };
    case 'AgentDeregistered':
      return state.status === 'registered'
        ? { status: 'deregistered', profile: state.profile, reason: event.data.reason }
        : state;
    case 'AgentDraining':
      return whenRegistered(state, () => ({ draining: true }));
    case 'AgentTaskAssigned': {
      const { taskId, attempt = 0 } = event.data;
      return whenRegistered(state, (a) => ({ slots: withSlot(a.slots, taskId, attempt) }));
    }
    case 'AgentTaskReleased': {
      const { taskId, attempt = 0 } = event.data;
      return whenRegistered(state, (a) => ({ slots: withoutSlot(a.slots, taskId, attempt) }));
    }
    case 'AgentBecameUnhealthy': {
      const { lastHeartbeatAt } = event.data;
      return whenRegistered(state, () => ({
        health: 'unhealthy',
        slots: [],
        ...(lastHeartbeatAt ? { lastHeartbeatAt } : {}),
      }));
    }
    case 'AgentRecovered':
      return whenRegistered(state, () => ({ health: 'healthy' }));
    default:
      return assertNever(event, 'agent event');
  }
}

export const agentDecider: Decider<AgentCommand, AgentEvent, AgentState> = {
  decide(command, state) {
    switch (command.type) {
      case 'RegisterAgent':
        return register(command, state);
      case 'DeregisterAgent':
        return deregister(command, state);
      case 'DrainAgent':
        return drain(command, state);
      case 'AssignTask':
        return assign(command, state);
      case 'ReleaseTask':
        return release(command, state);
      case 'MarkUnhealthy':
        return markUnhealthy(command, state);
      case 'Recover':
        return recover(command, state);
      default:
        return assertNever(command, 'agent command');
    }
  },
  evolve,
  initialState: () => ({ status: 'unregistered' }),
};
