import { create } from '@bufbuild/protobuf';
import { Inject, Injectable } from '@nestjs/common';
import { FORECAST_HORIZONS, insights, metricsView, predictions, recommendations } from '@orch/analytics';
import {
  RebuildResultSchema,
  commandInfo,
  type AnalyticsDocument,
  type GetInsights,
  type GetMetrics,
  type GetPredictions,
  type GetRecommendations,
  type RebuildProjections,
  type RebuildResult,
} from '@orch/contracts';
import { NotFoundError } from '@orch/domain-kit';
import { CommandHandler } from '@orch/messaging';
import { ProjectionHost } from '../projections/projection-host';
import { checkSessionId } from '../replay/requests';
import { CLOCK, type Clock } from '../tokens';
import { analyticsDocument } from './json';

/**
 * The analytics views over NATS. Each is computed from the live projection in one synchronous
 * step (one consistent state) at the wall clock's now; the pure views live in @orch/analytics.
 */
@Injectable()
export class AnalyticsHandlers {
  constructor(
    private readonly host: ProjectionHost,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  /** Counts, rates, percentiles, tokens and cost; with a session id, that session's figures only. */
  @CommandHandler(commandInfo('analytics.GetMetrics'))
  async metrics(m: GetMetrics): Promise<AnalyticsDocument> {
    const sessionId = m.sessionId === '' ? undefined : checkSessionId(m.sessionId);
    const now = this.clock.now();
    const state = this.host.state;
    const view = metricsView(state, { now, ...(m.windowMinutes > 0 ? { window: m.windowMinutes } : {}) });
    if (sessionId === undefined) return analyticsDocument(view, this.host.position, now);
    const session = view.sessions.find((s) => s.sessionId === sessionId);
    if (!session) throw new NotFoundError(`session ${sessionId} has no analytics`, { sessionId });
    return analyticsDocument({ asOf: view.asOf, position: view.position, session }, this.host.position, now);
  }

  /** Demand forecasts for one horizon, or for every horizon the product offers (0). */
  @CommandHandler(commandInfo('analytics.GetPredictions'))
  async predictions(m: GetPredictions): Promise<AnalyticsDocument> {
    const now = this.clock.now();
    const state = this.host.state;
    const horizons = m.horizonHours === 0 ? FORECAST_HORIZONS : [m.horizonHours];
    const views = horizons.map((h) => predictions(state, h, { at: now }));
    return analyticsDocument({ horizons: views }, this.host.position, now);
  }

  @CommandHandler(commandInfo('analytics.GetInsights'))
  async insights(_m: GetInsights): Promise<AnalyticsDocument> {
    const now = this.clock.now();
    return analyticsDocument(insights(this.host.state, now), this.host.position, now);
  }

  @CommandHandler(commandInfo('analytics.GetRecommendations'))
  async recommendations(_m: GetRecommendations): Promise<AnalyticsDocument> {
    const now = this.clock.now();
    return analyticsDocument(recommendations(this.host.state, now), this.host.position, now);
  }

  /** Folds the log from position 0 into fresh projections and switches to them. */
  @CommandHandler(commandInfo('analytics.RebuildProjections'))
  async rebuild(_m: RebuildProjections): Promise<RebuildResult> {
    const outcome = await this.host.rebuild();
    return create(RebuildResultSchema, {
      events: BigInt(outcome.events),
      position: outcome.position,
      durationMs: BigInt(outcome.durationMs),
    });
  }
}
