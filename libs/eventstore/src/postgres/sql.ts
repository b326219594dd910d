/**
 * Names derived from the store's schema. The schema is interpolated into SQL (identifiers cannot
 * be bind parameters), so it is restricted to plain lower-case identifiers; the NOTIFY channel
 * `<schema>_appended` must also fit PostgreSQL's 63-byte identifier limit.
 */
const SCHEMA = /^[a-z_][a-z0-9_]{0,47}$/;

export function validateSchemaName(schema: string): void {
  if (!SCHEMA.test(schema)) {
    throw new TypeError(
      `event store schema must be a lower-case identifier of at most 48 characters ([a-z_][a-z0-9_]*), got ${JSON.stringify(schema)}`,
    );
  }
}

/** The schema as a quoted identifier, after validation. */
export function quoteSchema(schema: string): string {
  validateSchemaName(schema);
  return `"${schema}"`;
}

/** The channel a committed append notifies, with the last position it wrote as payload. */
export const notifyChannel = (schema: string): string => `${schema}_appended`;

/**
 * A string as an SQL literal, for the statements that inline a batch (see the store's flush).
 * The E'' form with every backslash doubled reads the same whatever standard_conforming_strings
 * says; with quotes doubled, nothing in `text` can end the literal. Regex replacement, because the
 * batch's JSON runs to hundreds of kilobytes and a per-character loop shows in profiles.
 */
export const quoteLiteral = (text: string): string => `E'${text.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
