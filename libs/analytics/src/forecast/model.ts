/**
 * What a forecasting method is to the rest of analytics: history in, point forecasts with their
 * uncertainty out. Backtests and the predictions view use only this, so a method can be swapped
 * (another library's ARIMA, say) without touching them.
 */

/** Which model produced a forecast and with what parameters (for the reader, not for refitting). */
export interface ModelDescription {
  /** holt-winters | holt | ses | seasonal-naive | naive | mean, or another method's name. */
  readonly method: string;
  /** Season length in steps (24 = daily for hourly series); 0 when not seasonal. */
  readonly period: number;
  readonly params: Readonly<Record<string, number>>;
}

export interface PointForecast {
  /** Expected value of each of the next `horizon` steps. */
  readonly mean: readonly number[];
  /** Standard deviation of each step's forecast error (for prediction intervals). */
  readonly sigma: readonly number[];
  readonly model: ModelDescription;
}

/**
 * A forecasting method. `forecast` may choose its own parameters but must use only `history`:
 * backtests call it on a prefix of a series and score it on what follows.
 */
export interface ForecastMethod {
  readonly name: string;
  forecast(history: readonly number[], horizon: number): PointForecast;
}

/** z of the two-sided normal intervals reported. */
export const Z80 = 1.2815515655446004;
export const Z95 = 1.959963984540054;
