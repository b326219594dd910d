/**
 * The JSON shapes of the gateway's agent-facing routes (API.md). Field names are the contract.
 */

/** A capability with a proficiency between 0 and 1; a bare name means level 1. */
export type CapabilityInput = { readonly name: string; readonly level: number } | string;

/** Body of `POST /api/agents`. */
export interface AgentRegistration {
  readonly name: string;
  readonly provider: string;
  readonly model: string;
  readonly capabilities: readonly CapabilityInput[];
  readonly maxConcurrency: number;
  readonly costPer1kInputTokens?: number;
  readonly costPer1kOutputTokens?: number;
  readonly labels?: Readonly<Record<string, string>>;
  readonly type?: string;
}

/** Answer of `POST /api/agents`: the new agent's id and its agent-scoped key (shown once). */
export interface RegisteredAgent {
  readonly id: string;
  readonly apiKey: string;
}

export interface HeartbeatAck {
  readonly agentId: string;
  readonly status: string;
}

/** What an agent is asked to do with a task (docs/orchestration.md, Patterns). */
export type AssignmentRole = 'work' | 'review' | 'plan' | 'supervise';

/** A task handed to this agent by `GET /api/agents/{id}/assignments/next`. */
export interface Assignment {
  /** Global task id: the one every report names. */
  readonly taskId: string;
  /** The id the client gave the task within its session. */
  readonly key: string;
  readonly sessionId: string;
  readonly type: string;
  readonly description: string;
  readonly input: Record<string, unknown>;
  /** 1 for the first attempt. */
  readonly attempt: number;
  /** RFC 3339; after it the attempt times out and is retried elsewhere. */
  readonly deadline?: string;
  readonly capabilities: readonly string[];
  readonly role: AssignmentRole;
  /** For a review: the key of the task whose output is reviewed. */
  readonly reviewOf?: string;
  /** Review or supervision round, 0 when not applicable. */
  readonly round: number;
  readonly goal: string;
  readonly pattern: string;
}

/** Answer of every task report (`start`, `progress`, `complete`, `fail`, `handoff`, `subtasks`). */
export interface TaskAck {
  readonly taskId: string;
  readonly sessionId: string;
  readonly status: string;
  /** Keys of tasks the call added (subtasks, reviews, a plan). */
  readonly addedTaskIds: readonly string[];
}

/** Token usage and cost of one attempt. */
export interface TaskUsage {
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly costUsd: number;
}

/** A task added to the session by `spawnSubtasks` (same shape as a session's tasks). */
export interface SubtaskSpec {
  /** Unique within the session. */
  readonly id: string;
  readonly type: string;
  readonly description?: string;
  readonly input?: Record<string, unknown>;
  readonly capabilities?: readonly string[];
  readonly dependsOn?: readonly string[];
  readonly priority?: number;
  readonly timeoutMs?: number;
  readonly maxAttempts?: number;
}

/** Where a handed-off task goes: other capabilities, or one named agent. */
export type HandOffTarget =
  | { readonly toCapabilities: readonly string[]; readonly reason: string }
  | { readonly toAgentId: string; readonly reason: string };

export interface ProgressReport {
  /** 0..100. */
  readonly percent?: number;
  readonly message?: string;
}

/** Answer of `POST /api/orchestration/communicate`. */
export interface PostedMessage {
  readonly messageId: string;
  readonly sequence: number;
}

export interface SessionMessage {
  readonly messageId: string;
  readonly sequence: number;
  readonly from: string;
  /** Absent for a broadcast. */
  readonly to?: string;
  readonly body: unknown;
  readonly postedAt: string;
}

export interface MessagePage {
  readonly items: readonly SessionMessage[];
  /** Pass as `after` to read on; 0 when the page is empty. */
  readonly lastSequence: number;
}

/** One key of a session's shared context; `version` is what `If-Match` compares. */
export interface ContextEntry {
  readonly key: string;
  readonly value: unknown;
  readonly version: number;
}
