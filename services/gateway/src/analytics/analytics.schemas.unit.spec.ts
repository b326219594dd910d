import { MetricsQuerySchema, PredictionsQuerySchema } from './analytics.schemas';

describe('PredictionsQuerySchema', () => {
  it.each([6, 12, 24, 48, 168])('takes the %i hours horizon', (h) => {
    expect(PredictionsQuerySchema.parse({ horizonHours: String(h) })).toEqual({ horizonHours: h });
  });

  it('means every horizon when absent', () => {
    expect(PredictionsQuerySchema.parse({})).toEqual({});
  });

  it.each(['7', '0', '6.0', '', 'week', ['6', '12']])('refuses %p naming the horizons it takes', (value) => {
    const result = PredictionsQuerySchema.safeParse({ horizonHours: value });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]).toMatchObject({
      path: ['horizonHours'],
      message: 'must be one of 6, 12, 24, 48, 168',
    });
  });
});

describe('MetricsQuerySchema', () => {
  it('takes a window of whole minutes and a session UUID', () => {
    expect(
      MetricsQuerySchema.parse({ windowMinutes: '15', sessionId: '0b6c3c1e-7d1f-4a52-9a8e-2f3d4c5b6a79' }),
    ).toEqual({ windowMinutes: 15, sessionId: '0b6c3c1e-7d1f-4a52-9a8e-2f3d4c5b6a79' });
  });

  it('refuses a window that is not a positive whole number, and a session id that is no UUID', () => {
    const result = MetricsQuerySchema.safeParse({ windowMinutes: '1.5', sessionId: 'session-1' });
    expect(result.error?.issues.map((i) => i.path[0])).toEqual(['windowMinutes', 'sessionId']);
    expect(MetricsQuerySchema.safeParse({ windowMinutes: '0' }).success).toBe(false);
  });
});
