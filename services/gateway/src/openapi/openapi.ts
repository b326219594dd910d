import { ApiResponse, type ApiResponseOptions } from '@nestjs/swagger';
import { applyDecorators } from '@nestjs/common';
import { z } from 'zod';
import { PROBLEM_CONTENT_TYPE } from '../problem/problem';

type SchemaObject = Record<string, unknown>;

/** Schemas validated one way and documented another (see {@link documentedAs}). */
const documentation = new WeakMap<z.ZodType, z.ZodType>();

/**
 * Documents `schema` in OpenAPI as `document` says, and returns `schema`. For a schema that
 * validates field by field (precise error paths) what is best described another way, e.g. a
 * claim checked as one object but documented as `anyOf` its two kinds.
 */
export function documentedAs<S extends z.ZodType>(schema: S, document: z.ZodType): S {
  documentation.set(schema, document);
  return schema;
}

/**
 * The OpenAPI 3.0 schema of a zod schema, so validation and documentation come from one
 * definition. `io: 'input'` documents what clients send (defaults make fields optional).
 */
export function openApiSchema(schema: z.ZodType, io: 'input' | 'output' = 'input'): SchemaObject {
  const { $schema: _ignored, ...json } = z.toJSONSchema(schema, {
    target: 'openapi-3.0',
    io,
    unrepresentable: 'any',
    override: (ctx) => {
      const document = documentation.get(ctx.zodSchema as unknown as z.ZodType);
      if (!document) return;
      const target = ctx.jsonSchema as SchemaObject;
      for (const key of Object.keys(target)) delete target[key];
      Object.assign(target, openApiSchema(document, io));
    },
  }) as SchemaObject;
  return json;
}

export const ProblemDocument = z.object({
  type: z.string().describe('urn:orch:problem:<code>'),
  title: z.string(),
  status: z.number().int(),
  detail: z.string(),
  errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  instance: z.string().optional(),
  correlationId: z.string(),
});

const PROBLEM_DESCRIPTIONS: Readonly<Record<number, string>> = {
  400: 'Invalid request (errors[] names each field)',
  401: 'Missing, unknown or revoked API key',
  403: 'The key may not do this',
  404: 'Not found',
  409: 'Conflict with the current state, or the Idempotency-Key is in use',
  412: 'If-Match names another version (currentVersion and ETag give the current one)',
  413: 'Body over the size limit',
  415: 'Body is not application/json',
  422: 'Idempotency-Key reused for a different request',
  429: 'Rate limit exceeded (see Retry-After)',
  502: 'A downstream service failed',
  503: 'A downstream service is unavailable',
  504: 'A downstream service did not answer in time',
};

/** Documents the problem+json answers a route may give. */
export function ApiProblems(...statuses: number[]): MethodDecorator & ClassDecorator {
  const schema = openApiSchema(ProblemDocument, 'output');
  return applyDecorators(
    ...statuses.map((status) =>
      ApiResponse({
        status,
        description: PROBLEM_DESCRIPTIONS[status] ?? 'Error',
        content: { [PROBLEM_CONTENT_TYPE]: { schema } },
      } as ApiResponseOptions),
    ),
  );
}
