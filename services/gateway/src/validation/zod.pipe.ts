import type { PipeTransform } from '@nestjs/common';
import { ValidationError, type FieldProblem } from '@orch/domain-kit';
import type { z } from 'zod';

/**
 * `capabilities[0].level` from a zod path. Unknown keys of a strict object are reported once per
 * key, at the key's own path, so the client sees exactly which field to drop.
 */
export function issuesToFieldProblems(issues: readonly z.core.$ZodIssue[]): FieldProblem[] {
  const out: FieldProblem[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys)
        out.push({ path: formatPath([...issue.path, key]), message: 'unknown field' });
      continue;
    }
    out.push({ path: formatPath(issue.path), message: issue.message });
  }
  return out;
}

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out;
}

/**
 * Validates a request part at the edge; a failure is a 400 naming each field. `where` names the
 * part: `body`, `query`, or a path parameter's name (a problem with the whole part is reported
 * at that name).
 */
export class ZodPipe<S extends z.ZodType> implements PipeTransform<unknown, z.output<S>> {
  constructor(
    private readonly schema: S,
    private readonly where: 'body' | 'query' | { readonly param: string } = 'body',
  ) {}

  transform(value: unknown): z.output<S> {
    const result = this.schema.safeParse(value);
    if (result.success) return result.data;
    const root = typeof this.where === 'string' ? this.where : this.where.param;
    const errors = issuesToFieldProblems(result.error.issues).map((e) => ({
      ...e,
      path: e.path === '' ? root : e.path,
    }));
    const what = typeof this.where === 'string' ? `request ${this.where}` : `path parameter "${root}"`;
    throw new ValidationError(`the ${what} is invalid`, errors);
  }
}
