import { create, type JsonObject, type JsonValue } from '@bufbuild/protobuf';
import { ErrorReplySchema, type ErrorReply } from '@orch/contracts';
import { isDomainError, ValidationError } from '@orch/domain-kit';
import { isWrongExpectedVersion } from '@orch/eventstore';
import { RemoteDomainError } from './errors';

/** The message sent for errors that are not business rejections; the real one is only logged. */
export const INTERNAL_ERROR_MESSAGE = 'internal error';

/**
 * Maps what a command handler threw to the ErrorReply sent back. DomainErrors keep their code,
 * field errors and details; a version conflict becomes `concurrency` with expected/actual;
 * anything else becomes `internal` with a generic message (`internal: true` tells the caller to
 * log the real error, which must not leak to clients).
 */
export function toErrorReply(err: unknown): { reply: ErrorReply; internal: boolean } {
  if (isDomainError(err)) {
    return {
      reply: create(ErrorReplySchema, {
        code: err.code,
        message: err.message,
        errors:
          err instanceof ValidationError ? err.errors.map((e) => ({ path: e.path, message: e.message })) : [],
        details: toStruct(err.details),
      }),
      internal: false,
    };
  }
  if (isWrongExpectedVersion(err)) {
    return {
      reply: create(ErrorReplySchema, {
        code: 'concurrency',
        message: err.message,
        details: toStruct({ streamId: err.streamId, expected: err.expected, actual: err.actual }),
      }),
      internal: false,
    };
  }
  return {
    reply: create(ErrorReplySchema, { code: 'internal', message: INTERNAL_ERROR_MESSAGE }),
    internal: true,
  };
}

/** A validation ErrorReply for a request this server cannot read. */
export function malformedRequestReply(message: string): ErrorReply {
  return create(ErrorReplySchema, { code: 'validation', message });
}

/** The caller-side error for an ErrorReply. */
export function fromErrorReply(reply: ErrorReply, command: string): RemoteDomainError {
  const details: JsonObject = reply.details ?? {};
  return new RemoteDomainError(
    reply.code || 'internal',
    reply.message,
    reply.errors.map((e) => ({ path: e.path, message: e.message })),
    details,
    command,
  );
}

// google.protobuf.Struct fields are plain JSON objects in Protobuf-ES v2.
const toStruct = (details: Readonly<Record<string, unknown>>): JsonObject =>
  toJsonSafe(details) as JsonObject;

/** JSON-safe copy: bigints become strings, Dates ISO strings, undefined and functions are dropped. */
export function toJsonSafe(value: unknown): JsonValue {
  if (value === null || value === undefined) return null;
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number') return Number.isFinite(value) ? value : String(value);
  if (typeof value === 'string' || typeof value === 'boolean') return value;
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(toJsonSafe);
  if (typeof value === 'object') {
    const out: JsonObject = {};
    for (const [k, v] of Object.entries(value)) {
      if (v === undefined || typeof v === 'function') continue;
      out[k] = toJsonSafe(v);
    }
    return out;
  }
  return String(value);
}
