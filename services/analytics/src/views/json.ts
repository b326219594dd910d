import { create, fromJson, type JsonObject, type JsonValue } from '@bufbuild/protobuf';
import { ListValueSchema, timestampFromDate, type ListValue } from '@bufbuild/protobuf/wkt';
import { AnalyticsDocumentSchema, type AnalyticsDocument } from '@orch/contracts';
import { rfc3339 } from '@orch/domain-kit';

/**
 * `value` as JSON a Struct can carry: bigints as decimal strings, Dates as RFC 3339, Maps as
 * objects, Sets as arrays, numbers that are not finite as null; undefined fields are left out
 * (null inside arrays), functions and symbols become null.
 */
export function toJsonValue(value: unknown): JsonValue {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      return Number.isFinite(value) ? value : null;
    case 'bigint':
      return value.toString();
    case 'object': {
      if (value === null) return null;
      if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : rfc3339(value);
      if (Array.isArray(value)) return value.map(toJsonValue);
      if (value instanceof Set) return [...value].map(toJsonValue);
      const entries = value instanceof Map ? [...value.entries()] : Object.entries(value);
      const out: JsonObject = {};
      for (const [k, v] of entries) if (v !== undefined) out[String(k)] = toJsonValue(v);
      return out;
    }
    default:
      return null;
  }
}

const isJsonObject = (json: JsonValue): json is JsonObject =>
  json !== null && typeof json === 'object' && !Array.isArray(json);

/**
 * An object as the content of a Struct field (Protobuf-ES holds those as JSON objects; see
 * toJsonValue); anything else is carried as `{"value": ...}`.
 */
export function toStruct(value: unknown): JsonObject {
  const json = toJsonValue(value);
  return isJsonObject(json) ? json : { value: json };
}

/** A list as a ListValue (see toJsonValue). */
export const toListValue = (values: readonly unknown[]): ListValue =>
  fromJson(ListValueSchema, values.map(toJsonValue));

/** A view as the document the gateway serves: its body, the log position and time it reflects. */
export const analyticsDocument = (body: unknown, position: bigint, at: Date): AnalyticsDocument =>
  create(AnalyticsDocumentSchema, { body: toStruct(body), position, at: timestampFromDate(at) });
