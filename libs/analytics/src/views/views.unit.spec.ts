import { generateWorkload, MINUTE, T0 } from '../analytics.fixtures';
import { predictions } from '../forecast/predictions';
import { insights } from '../insights/insights';
import { evolveAll } from '../projection/evolve';
import { initialAnalyticsState } from '../projection/state';
import { recommendations } from '../recommendations/recommendations';
import { metricsView } from './metrics';

describe('the views', () => {
  const state = evolveAll(
    initialAnalyticsState(),
    generateWorkload({ seed: 3, sessions: 12, tasksPerSession: 10, noise: true }),
  );
  const now = new Date(state.clock);

  it('answer plain JSON: nothing is lost through JSON text', () => {
    for (const view of [
      metricsView(state),
      predictions(state, 6),
      insights(state, now),
      recommendations(state, now),
    ])
      expect(JSON.parse(JSON.stringify(view))).toEqual(view);
  });

  it('list sessions newest first and everything else by id', () => {
    const v = metricsView(state);
    const started = v.sessions.map((s) => s.startedAt!);
    expect([...started].sort().reverse()).toEqual(started);
    const ids = v.agents.map((a) => a.agentId);
    expect([...ids].sort()).toEqual(ids);
  });

  it('show an empty projection without failing', () => {
    const empty = initialAnalyticsState();
    expect(metricsView(empty)).toMatchObject({
      asOf: null,
      position: null,
      agents: [],
      series: { points: [] },
    });
    expect(insights(empty, new Date(T0)).bottlenecks).toEqual([]);
    expect(recommendations(empty, new Date(T0)).items).toEqual([]);
  });

  it('take their window back from the time they are asked about', () => {
    const v = metricsView(state, { window: 10, now: new Date(T0 + 30 * MINUTE) });
    expect(v.series).toMatchObject({
      windowMinutes: 10,
      from: '2026-11-21T10:21:00Z',
      to: '2026-11-21T10:31:00Z',
    });
    expect(v.asOf).toBe('2026-11-21T10:30:00Z');
  });
});
