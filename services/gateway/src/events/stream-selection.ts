/** The `types` value that asks for live metrics (an event type is never spelled in lower case). */
export const METRICS_TYPE = 'metrics';

/** What a stream carries, from its query. */
export interface StreamSelection {
  /** Recorded events, of `eventTypes` (all when empty). */
  readonly events: boolean;
  readonly eventTypes: readonly string[];
  /** `event: metrics` summaries at the live-metrics interval. */
  readonly metrics: boolean;
}

/**
 * `metrics=1`, or `metrics` among the `types`, adds live metrics. `types=metrics` alone carries
 * metrics only (no events consumer is opened); any other `types` list still selects events.
 */
export function streamSelection(query: {
  readonly types?: readonly string[] | undefined;
  readonly metrics?: boolean | undefined;
}): StreamSelection {
  const types = query.types ?? [];
  const eventTypes = types.filter((t) => t !== METRICS_TYPE);
  const typedMetrics = eventTypes.length < types.length;
  return {
    events: !typedMetrics || eventTypes.length > 0,
    eventTypes,
    metrics: typedMetrics || query.metrics === true,
  };
}
