import {
  ConflictError,
  IllegalStateError,
  NotFoundError,
  ValidationError,
  assertNever,
  rfc3339,
  type Decider,
  type FieldProblem,
} from '@orch/domain-kit';
import type { AgentCommand, DeregisterAgent, RegisterAgent } from './agent.commands';
import type { AgentEvent, AgentRegistered } from './agent.events';

// ---------------------------------------------------------------- state

export type AgentProfile = AgentRegistered['data'];

/** An agent's lifecycle, as far as its own stream knows it. */
export type AgentState =
  | { readonly status: 'unregistered' }
  | { readonly status: 'registered'; readonly profile: AgentProfile }
  | { readonly status: 'deregistered'; readonly profile: AgentProfile; readonly reason: string };

/** Stream that holds one agent's events. */
export const agentStreamId = (agentId: string): string => `agent-${agentId}`;

export const MAX_CONCURRENCY_LIMIT = 1000;
export const MAX_CAPABILITIES = 64;

// ---------------------------------------------------------------- decide

function validateRegistration(c: RegisterAgent): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const requireText = (path: string, value: string, max: number): void => {
    if (value.trim() === '') problems.push({ path, message: 'must not be empty' });
    else if (value.length > max) problems.push({ path, message: `must be at most ${max} characters` });
  };
  requireText('name', c.name, 200);
  requireText('provider', c.provider, 100);
  requireText('model', c.model, 200);
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
  if (c.capabilities.length === 0)
    problems.push({ path: 'capabilities', message: 'must name at least one capability' });
  if (c.capabilities.length > MAX_CAPABILITIES) {
    problems.push({ path: 'capabilities', message: `must have at most ${MAX_CAPABILITIES} entries` });
  }
  const seen = new Set<string>();
  c.capabilities.forEach((cap, i) => {
    if (cap.name.trim() === '')
      problems.push({ path: `capabilities[${i}].name`, message: 'must not be empty' });
    if (seen.has(cap.name))
      problems.push({ path: `capabilities[${i}].name`, message: `duplicate capability "${cap.name}"` });
    seen.add(cap.name);
    if (!(cap.level >= 0 && cap.level <= 1))
      problems.push({ path: `capabilities[${i}].level`, message: 'must be between 0 and 1' });
  });
  for (const [field, value] of Object.entries(c.cost)) {
    if (!(Number.isFinite(value) && value >= 0))
      problems.push({ path: `cost.${field}`, message: 'must be a non-negative number' });
  }
  return problems;
}

const profileOf = (c: RegisterAgent): AgentProfile => ({
  agentId: c.agentId,
  name: c.name,
  provider: c.provider,
  model: c.model,
  capabilities: c.capabilities.map((cap) => ({ name: cap.name, level: cap.level })),
  maxConcurrency: c.maxConcurrency,
  cost: {
    per1kInputTokensUsd: c.cost.per1kInputTokensUsd,
    per1kOutputTokensUsd: c.cost.per1kOutputTokensUsd,
  },
  labels: { ...c.labels },
  agentType: c.agentType,
  registeredAt: rfc3339(c.at),
});

/** JSON with object keys sorted, so stored (reordered) and fresh values compare equal. */
const canonical = (value: unknown): string =>
  JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        )
      : v,
  );

/** The same registration, ignoring when it was made: a retry of a command that already succeeded. */
const sameRegistration = (a: AgentProfile, b: AgentProfile): boolean =>
  canonical({ ...a, registeredAt: '' }) === canonical({ ...b, registeredAt: '' });

function register(c: RegisterAgent, state: AgentState): AgentEvent[] {
  const problems = validateRegistration(c);
  if (problems.length > 0) throw new ValidationError('invalid agent registration', problems);
  const profile = profileOf(c);
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

function deregister(c: DeregisterAgent, state: AgentState): AgentEvent[] {
  switch (state.status) {
    case 'unregistered':
      throw new NotFoundError(`agent ${c.agentId} does not exist`, { agentId: c.agentId });
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

// ---------------------------------------------------------------- evolve

function evolve(state: AgentState, event: AgentEvent): AgentState {
  switch (event.type) {
    case 'AgentRegistered':
      return { status: 'registered', profile: event.data };
    case 'AgentDeregistered':
      return state.status === 'registered'
        ? { status: 'deregistered', profile: state.profile, reason: event.data.reason }
        : state;
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
      default:
        return assertNever(command, 'agent command');
    }
  },
  evolve,
  initialState: () => ({ status: 'unregistered' }),
};
