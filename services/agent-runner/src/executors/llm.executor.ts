import { TaskFailure, type Assignment } from '@orch/agent-sdk';
import type { LlmExecutorConfig } from '../config';
import {
  usageFor,
  type Executor,
  type ExecutorAgent,
  type ExecutorContext,
  type ExecutorResult,
} from './executor';
import { InvalidAnswerError, parsePlanAnswer, parseReviewAnswer, parseSuperviseAnswer } from './llm-answer';

interface ChatMessage {
  readonly role: 'system' | 'user';
  readonly content: string;
}

interface Completion {
  readonly content: string;
  readonly inputTokens: number;
  readonly outputTokens: number;
}

const DEFAULT_SYSTEM_PROMPT =
  'You are an agent in a team of AI agents working on a shared goal. Do the task you are given well and answer concisely.';

/** What each role must answer, appended to the prompt. */
const ROLE_INSTRUCTIONS: Readonly<Record<Assignment['role'], string>> = {
  work: 'Do the task and answer with the result.',
  review:
    'Review the work in the input. Answer only with JSON: {"verdict": "approved" | "changes_requested", "comments": ["..."]}.',
  plan:
    'Break the goal into tasks. Answer only with JSON: {"plan": {"tasks": [{"id": "short-unique-id", "type": "...", ' +
    '"description": "...", "capabilities": ["..."], "dependsOn": ["ids of tasks that must finish first"]}]}}.',
  supervise:
    'The input holds the results of the plan so far. If the goal is met answer only with JSON {"done": true}; ' +
    'otherwise answer only with a new plan for the remaining work, as {"plan": {"tasks": [...]}} with new task ids.',
};

/**
 * Asks an OpenAI-compatible chat completions endpoint. Plan, supervise and review answers are
 * parsed and checked; an answer that is not what the role asks for, an endpoint that is down,
 * answers non-2xx or sends something unreadable all fail the attempt as retryable with the
 * reason. Usage comes from the response, its cost from the agent's cost model.
 */
export function createLlmExecutor(
  config: LlmExecutorConfig,
  agent: ExecutorAgent,
  env: NodeJS.ProcessEnv,
): Executor {
  const apiKey = config.apiKeyEnv ? env[config.apiKeyEnv] : config.apiKey;
  if (config.apiKeyEnv && !apiKey) {
    throw new Error(
      `agent ${agent.name}: environment variable ${config.apiKeyEnv} (executor.apiKeyEnv) is not set`,
    );
  }
  const endpoint = `${config.baseUrl.replace(/\/+$/, '')}/chat/completions`;
  return async (assignment, ctx) => {
    const messages: ChatMessage[] = [
      { role: 'system', content: config.systemPrompt ?? DEFAULT_SYSTEM_PROMPT },
      { role: 'user', content: prompt(assignment) },
    ];
    const completion = await complete(endpoint, apiKey, config, messages, ctx);
    const usage = usageFor(agent, completion.inputTokens, completion.outputTokens);
    return {
      output: { ...readAnswer(assignment, completion.content), model: config.model },
      usage,
    } satisfies ExecutorResult;
  };
}

/** The user message: the task as the orchestrator describes it, then what the role must answer. */
export function prompt(assignment: Assignment): string {
  const { goal, role, round, key, type, reviewOf, description, input } = assignment;
  const lines = [
    goal ? `Goal: ${goal}` : undefined,
    `Your role: ${role}${round ? ` (round ${round})` : ''}`,
    `Task: ${key} (type ${type || 'unspecified'})`,
    reviewOf ? `Reviewing the output of task: ${reviewOf}` : undefined,
    description ? `Description: ${description}` : undefined,
    Object.keys(input).length > 0 ? `Input (JSON):\n${JSON.stringify(input, null, 2)}` : undefined,
    '',
    ROLE_INSTRUCTIONS[role],
  ];
  return lines.filter((line) => line !== undefined).join('\n');
}

function readAnswer(assignment: Assignment, content: string): Record<string, unknown> {
  try {
    switch (assignment.role) {
      case 'plan':
        return parsePlanAnswer(content);
      case 'supervise':
        return parseSuperviseAnswer(content);
      case 'review':
        return parseReviewAnswer(content);
      case 'work':
        return { result: content };
      default: {
        const never: never = assignment.role;
        throw new Error(`unknown role ${String(never)}`);
      }
    }
  } catch (err) {
    if (err instanceof InvalidAnswerError)
      throw new TaskFailure(err.message, { retryable: true, cause: err });
    throw err;
  }
}

async function complete(
  endpoint: string,
  apiKey: string | undefined,
  config: LlmExecutorConfig,
  messages: readonly ChatMessage[],
  ctx: ExecutorContext,
): Promise<Completion> {
  const timeout = AbortSignal.timeout(config.timeoutMs);
  let res: Response;
  let text: string;
  try {
    res = await fetch(endpoint, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}),
      },
      body: JSON.stringify({ model: config.model, messages, temperature: config.temperature }),
      signal: AbortSignal.any([ctx.signal, timeout]),
    });
    text = await res.text();
  } catch (err) {
    const reason = ctx.signal.aborted
      ? 'the request was interrupted'
      : timeout.aborted
        ? `no answer within ${config.timeoutMs} ms`
        : `unreachable (${causeOf(err)})`;
    throw new TaskFailure(`LLM endpoint ${endpoint}: ${reason}`, { retryable: true, cause: err });
  }
  if (!res.ok) {
    throw new TaskFailure(`LLM endpoint ${endpoint} answered ${res.status}: ${text.trim().slice(0, 300)}`, {
      retryable: true,
    });
  }
  return readCompletion(endpoint, text);
}

function readCompletion(endpoint: string, text: string): Completion {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new TaskFailure(
      `LLM endpoint ${endpoint} answered with a body that is not JSON: ${text.trim().slice(0, 200)}`,
      {
        retryable: true,
      },
    );
  }
  const b = (typeof body === 'object' && body !== null ? body : {}) as {
    choices?: { message?: { content?: unknown } }[];
    usage?: Record<string, unknown>;
  };
  const content = b.choices?.[0]?.message?.content;
  if (typeof content !== 'string') {
    throw new TaskFailure(`LLM endpoint ${endpoint} answered without choices[0].message.content`, {
      retryable: true,
    });
  }
  return {
    content,
    inputTokens: Number(b.usage?.['prompt_tokens'] ?? 0) || 0,
    outputTokens: Number(b.usage?.['completion_tokens'] ?? 0) || 0,
  };
}

/** fetch reports "fetch failed" with the real reason (ECONNREFUSED...) in its cause. */
function causeOf(err: unknown): string {
  const e = err as { message?: unknown; cause?: { message?: unknown; code?: unknown } } | undefined;
  const cause = e?.cause;
  if (cause && typeof cause.message === 'string') return cause.message;
  return typeof e?.message === 'string' ? e.message : String(err);
}
