import { randomInt } from 'node:crypto';
import { TaskFailure, type Assignment, type SubtaskSpec } from '@orch/agent-sdk';
import type { SimExecutorConfig } from '../config';
import { usageFor, type Executor, type ExecutorAgent, type ExecutorContext } from './executor';
import { drawDuration, seededRandom, type Random } from './random';

/**
 * A simulated agent for load and pattern tests: it takes a duration drawn from its distribution,
 * fails now and then (retryable), and answers as its role asks - a verdict for a review, a plan
 * for planning, `done` for supervision, a result for work. With a seed, every draw is
 * reproducible (per agent: replicas get seeds derived from the seed and their name).
 */
export function createSimExecutor(config: SimExecutorConfig, agent: ExecutorAgent): Executor {
  const random = seededRandom(
    config.seed === undefined ? randomInt(2 ** 32) : `${config.seed}:${agent.name}`,
  );
  return async (assignment, ctx) => {
    const durationMs = drawDuration(config.durationMs, random);
    await pause(durationMs, ctx);
    if (random() < config.failureRate) {
      throw new TaskFailure(`simulated failure (failureRate ${config.failureRate})`, { retryable: true });
    }
    const output = roleOutput(assignment, config, random);
    const usage = usageFor(agent, 200 + Math.floor(random() * 1800), 50 + Math.floor(random() * 950));
    return { output: { ...output, simulated: true, durationMs: Math.round(durationMs) }, usage };
  };
}

function roleOutput(
  assignment: Assignment,
  config: SimExecutorConfig,
  random: Random,
): Record<string, unknown> {
  switch (assignment.role) {
    case 'review':
      return random() < config.changesRequestedRate
        ? {
            verdict: 'changes_requested',
            comments: [
              `round ${assignment.round}: handle the error cases of ${assignment.reviewOf ?? assignment.key}`,
            ],
          }
        : { verdict: 'approved', comments: [] };
    case 'plan':
      return {
        plan: { tasks: planHints(assignment) ?? generatePlan(assignment, config.planCapabilities, random) },
      };
    case 'supervise':
      return { done: true };
    case 'work':
      return { result: `simulated ${assignment.type || 'task'} ${assignment.key}` };
    default: {
      const never: never = assignment.role;
      throw new Error(`unknown role ${String(never)}`);
    }
  }
}

/** The tasks the session gave as hints (`input.tasks`), when there are any. */
function planHints(assignment: Assignment): unknown[] | undefined {
  const hints = assignment.input['tasks'];
  return Array.isArray(hints) && hints.length > 0 ? hints : undefined;
}

/**
 * A small fan-out/fan-in DAG: 2 to 4 independent steps, then one that integrates them. Keys
 * start with the plan task's own key, so plans of later rounds never collide with earlier ones.
 */
function generatePlan(
  assignment: Assignment,
  capabilities: readonly string[],
  random: Random,
): SubtaskSpec[] {
  const width = 2 + Math.floor(random() * 3);
  const capability = (i: number): { capabilities?: string[] } => {
    const name = capabilities[i % Math.max(1, capabilities.length)];
    return name === undefined ? {} : { capabilities: [name] };
  };
  const steps: SubtaskSpec[] = Array.from({ length: width }, (_, i) => ({
    id: `${assignment.key}-step-${i + 1}`,
    type: 'work',
    description: `step ${i + 1} of ${width} towards: ${assignment.goal || assignment.description}`,
    ...capability(i),
  }));
  const integrate: SubtaskSpec = {
    id: `${assignment.key}-integrate`,
    type: 'integrate',
    description: `bring the ${width} steps together`,
    dependsOn: steps.map((s) => s.id),
    ...capability(width),
  };
  return [...steps, integrate];
}

/** Waits `ms` (0 returns at once); an abort interrupts it with a retryable failure. */
async function pause(ms: number, ctx: ExecutorContext): Promise<void> {
  if (ctx.signal.aborted) throw interrupted(ctx.signal);
  if (ms <= 0) return;
  await new Promise<void>((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(interrupted(ctx.signal));
    };
    const timer = setTimeout(() => {
      ctx.signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    ctx.signal.addEventListener('abort', onAbort, { once: true });
  });
}

function interrupted(signal: AbortSignal): TaskFailure {
  const reason = signal.reason instanceof Error ? signal.reason.message : 'aborted';
  return new TaskFailure(`interrupted: ${reason}`, { retryable: true });
}
