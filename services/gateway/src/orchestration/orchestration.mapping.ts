import {
  create,
  fromJson,
  toJson,
  type DescMessage,
  type JsonValue,
  type MessageShape,
} from '@bufbuild/protobuf';
import { ValueSchema, type Value } from '@bufbuild/protobuf/wkt';
import { TaskSpecSchema, protoRegistry, type TaskSpec } from '@orch/contracts';
import { ValidationError } from '@orch/domain-kit';
import type { Principal } from '../auth/principal';
import type { SessionTaskInput } from './orchestration.schemas';

/** A session task as the API takes it, as the contract's TaskSpec. */
export const toTaskSpec = (t: SessionTaskInput): TaskSpec =>
  create(TaskSpecSchema, {
    key: t.id,
    type: t.type,
    description: t.description ?? '',
    ...(t.input ? { input: t.input as MessageShape<typeof TaskSpecSchema>['input'] } : {}),
    capabilities: t.capabilities ?? [],
    dependsOn: t.dependsOn ?? [],
    priority: t.priority ?? 0,
    timeoutMs: t.timeoutMs ?? 0,
    maxAttempts: t.maxAttempts ?? 0,
    claims: (t.claims ?? []).map((c) => ({ ...c })),
    allowFailure: t.allowFailure ?? false,
    estimatedDurationMs: BigInt(t.estimatedDurationMs ?? 0),
  });

/**
 * A reply as the API shows it: the protobuf JSON mapping with every field present (an unset
 * string is "", a count is 0), so clients can rely on each field of the contract being there.
 */
export const toApiJson = <D extends DescMessage>(
  schema: D,
  message: MessageShape<D>,
): Record<string, unknown> =>
  toJson(schema, message, { alwaysEmitImplicit: true, registry: protoRegistry }) as Record<string, unknown>;

/** Any JSON value as google.protobuf.Value. */
export const toValue = (json: unknown): Value => fromJson(ValueSchema, json as JsonValue);

/** google.protobuf.Value back to JSON (null when absent). */
export const fromValue = (value: Value | undefined): JsonValue => (value ? toJson(ValueSchema, value) : null);

/**
 * The agent a task report acts for: an agent key acts as its own agent (naming another is
 * refused); admin and operator keys must name it, since they are no agent themselves.
 */
export function actingAgentId(principal: Principal, named: string | undefined): string {
  if (principal.role === 'agent') {
    if (named !== undefined && named !== principal.agentId) {
      throw new ValidationError('an agent key acts only as its own agent', [
        { path: 'agentId', message: 'must be omitted or equal the agent of the key' },
      ]);
    }
    return principal.agentId ?? '';
  }
  if (named === undefined) {
    throw new ValidationError('say which agent reports', [
      { path: 'agentId', message: 'is required when the key is not an agent key' },
    ]);
  }
  return named;
}
