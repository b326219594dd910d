import type { Assignment } from '@orch/agent-sdk';

/** An assignment with plausible defaults, for executor tests. */
export function anAssignment(overrides: Partial<Assignment> = {}): Assignment {
  return {
    taskId: 'task-1',
    key: 'build',
    sessionId: 'session-1',
    type: 'code',
    description: 'build the thing',
    input: {},
    attempt: 1,
    capabilities: ['coding'],
    role: 'work',
    round: 0,
    goal: 'ship the feature',
    pattern: 'solo',
    ...overrides,
  };
}

/** A context whose signal never fires, unless a controller is given. */
export const aContext = (controller = new AbortController()) => ({ signal: controller.signal });
