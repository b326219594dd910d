import { create, fromJson, toJson, type JsonValue as ProtoJson } from '@bufbuild/protobuf';
import { ValueSchema, timestampFromDate, type Value } from '@bufbuild/protobuf/wkt';
import {
  ContextEntrySchema,
  SessionMessageSchema,
  SessionSuggestionSchema,
  TaskSpecSchema,
  protoRegistry,
  type ContextEntry,
  type SessionMessage,
  type SessionSuggestion as SessionSuggestionMessage,
  type StartSession,
  type TaskSpec,
} from '@orch/contracts';
import type { ContextState, PostedMessage, SessionRequest, SessionSuggestion } from '@orch/coordination';
import type { JsonValue, TaskSpecData } from '@orch/distribution';

/** A TaskSpec in the JSON mapping the events record, every field present (input defaults to {}). */
export const toTaskSpecData = (t: TaskSpec): TaskSpecData => {
  const json = toJson(TaskSpecSchema, t, { registry: protoRegistry, alwaysEmitImplicit: true }) as Record<
    string,
    unknown
  >;
  return { ...json, input: json['input'] ?? {} } as TaskSpecData;
};

export const toSessionRequest = (m: StartSession): SessionRequest => ({
  sessionId: m.sessionId,
  goal: m.goal,
  pattern: m.pattern,
  tasks: m.tasks.map(toTaskSpecData),
  agentIds: [...m.agentIds],
  budgetUsd: m.budgetUsd,
  strategy: m.strategy,
  maxRounds: m.maxRounds,
  conflictPolicy: m.conflictPolicy,
});

/** A google.protobuf.Value as JSON; undefined when absent or holding nothing. */
export const jsonOf = (v: Value | undefined): JsonValue | undefined =>
  v && v.kind.case !== undefined ? (toJson(ValueSchema, v) as JsonValue) : undefined;

const valueOf = (json: JsonValue): Value => fromJson(ValueSchema, json as ProtoJson);

export const toSessionMessage = (m: PostedMessage): SessionMessage =>
  create(SessionMessageSchema, {
    messageId: m.messageId,
    sequence: BigInt(m.sequence),
    from: m.from,
    to: m.to,
    body: valueOf(m.body),
    postedAt: timestampFromDate(new Date(m.postedAt)),
  });

export const toContextEntry = (sessionId: string, key: string, c: ContextState): ContextEntry =>
  create(ContextEntrySchema, {
    sessionId,
    key,
    version: BigInt(c.version),
    ...(c.value !== undefined ? { value: valueOf(c.value) } : {}),
    ...(c.updatedAt ? { updatedAt: timestampFromDate(new Date(c.updatedAt)) } : {}),
  });

export const toSuggestionMessage = (s: SessionSuggestion): SessionSuggestionMessage =>
  create(SessionSuggestionSchema, {
    pattern: s.pattern,
    reasons: [...s.reasons],
    agents: s.agents.map((a) => ({
      agentType: a.agentType,
      capabilities: [...a.capabilities],
      count: a.count,
      reason: a.reason,
      availableAgentIds: [...a.availableAgentIds],
    })),
  });
