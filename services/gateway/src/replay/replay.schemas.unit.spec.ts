import { EventsQuerySchema, PositionSchema, ReplayQuerySchema } from './replay.schemas';

describe('PositionSchema', () => {
  it('takes every 64-bit unsigned integer, exactly', () => {
    expect(PositionSchema.parse('0')).toBe(0n);
    expect(PositionSchema.parse('9007199254740993')).toBe(9_007_199_254_740_993n);
    expect(PositionSchema.parse('18446744073709551615')).toBe(18_446_744_073_709_551_615n);
  });

  it.each(['', '-1', '1.5', '1e3', ' 1', 'abc', '18446744073709551616', '123456789012345678901'])(
    'refuses %p as a position',
    (text) => {
      const result = PositionSchema.safeParse(text);
      expect(result.success).toBe(false);
      expect(result.error?.issues[0]?.message).toBe('must be a non-negative integer (a global position)');
    },
  );
});

describe('query schemas', () => {
  it('leave absent values to the service', () => {
    expect(EventsQuerySchema.parse({})).toEqual({});
    expect(ReplayQuerySchema.parse({})).toEqual({});
  });

  it('bound the page size and refuse unknown parameters', () => {
    expect(EventsQuerySchema.parse({ from: '5', limit: '5000' })).toEqual({ from: 5n, limit: 5000 });
    expect(EventsQuerySchema.safeParse({ limit: '5001' }).success).toBe(false);
    expect(EventsQuerySchema.safeParse({ limit: '0' }).success).toBe(false);
    expect(ReplayQuerySchema.safeParse({ at: '3', step: '1' }).success).toBe(false);
  });
});
