import { ValidationError } from '@orch/domain-kit';
import { z } from 'zod';
import { formatPath, ZodPipe } from './zod.pipe';

describe('ZodPipe', () => {
  const schema = z.strictObject({
    name: z.string().min(1),
    capabilities: z.array(z.strictObject({ name: z.string(), level: z.number().min(0).max(1) })),
  });

  const errorsOf = (value: unknown) => {
    try {
      new ZodPipe(schema).transform(value);
    } catch (e) {
      expect(e).toBeInstanceOf(ValidationError);
      return (e as ValidationError).errors;
    }
    throw new Error('expected a validation error');
  };

  it('passes valid input through, parsed', () => {
    expect(new ZodPipe(schema).transform({ name: 'a', capabilities: [] })).toEqual({
      name: 'a',
      capabilities: [],
    });
  });

  it('names the nested field that is out of range', () => {
    expect(errorsOf({ name: 'a', capabilities: [{ name: 'x', level: 2 }] })).toEqual([
      { path: 'capabilities[0].level', message: expect.stringMatching(/<=1/) },
    ]);
  });

  it('names each unknown field at its own path', () => {
    expect(errorsOf({ name: 'a', capabilities: [{ name: 'x', level: 1, extra: 1 }], admin: true })).toEqual([
      { path: 'capabilities[0].extra', message: 'unknown field' },
      { path: 'admin', message: 'unknown field' },
    ]);
  });

  it('names a missing field', () => {
    expect(errorsOf({ capabilities: [] }).map((e) => e.path)).toEqual(['name']);
  });

  it('formats paths', () => {
    expect(formatPath(['a', 0, 'b', 1])).toBe('a[0].b[1]');
    expect(formatPath([])).toBe('');
  });
});
