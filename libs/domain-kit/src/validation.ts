import type { FieldProblem } from './errors';

/** The problem of a required text field: blank, or longer than `maxLength` characters. */
export function textProblems(path: string, value: string, maxLength: number): FieldProblem[] {
  if (value.trim() === '') return [{ path, message: 'must not be empty' }];
  if (value.length > maxLength) return [{ path, message: `must be at most ${maxLength} characters` }];
  return [];
}
