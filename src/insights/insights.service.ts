import { Injectable } from '@nestjs/common';
import { Clock } from '../common/clock.js';
import { MetricsService, STATISTICS_SERIES, type StatisticsSeriesName } from '../metrics/metrics.service.js';
import { round } from '../metrics/statistics.js';
import { findAnomalies } from './anomalies.js';
import { forecast } from './forecast.js';
import type { InsightsPeriod, InsightsResponse, SeriesInsightsResponse } from './dto/insights.response.js';

/** Each judged day looks back this far: the same weekday of the previous 4 weeks, or the previous 28 days. */
const LOOKBACK_DAYS = 28;
const DAY_MS = 86_400_000;

/** Every series counts something (never below 0) except avg_score, a score from 0 to 100. */
const BOUNDS: Record<StatisticsSeriesName, [number, number]> = {
  daily_active_users: [0, Infinity],
  new_users: [0, Infinity],
  content_created: [0, Infinity],
  lessons_completed: [0, Infinity],
  assessments_submitted: [0, Infinity],
  avg_score: [0, 100],
};

/**
 * Anomalies and a 7-day forecast for each daily statistics series (docs/metrics.md, "Insights"). Today is still under
 * way: it is neither judged nor learnt from, and the forecast starts with it. History starts at the organization's
 * first day with any data in the window, so the zeros before it existed are not taken for a quiet past.
 */
@Injectable()
export class InsightsService {
  constructor(
    private readonly metrics: MetricsService,
    private readonly clock: Clock,
  ) {}

  async insights(organizationId: string, period: InsightsPeriod): Promise<InsightsResponse> {
    const generatedAt = this.clock.date();
    const periodDays = Number(period.slice(0, -1));
    const { days, series } = await this.metrics.dailySeries(organizationId, periodDays + LOOKBACK_DAYS);
    const today = days.length - 1;
    const periodStart = LOOKBACK_DAYS;
    const names = Object.keys(STATISTICS_SERIES) as StatisticsSeriesName[];
    const withData = days.findIndex((_, index) => names.some((name) => (series[name][index] ?? 0) !== 0));
    const first = withData < 0 || withData >= today ? today : withData;
    const forecastDays = Array.from({ length: 7 }, (_, offset) => new Date(Date.parse(days[today]) + offset * DAY_MS).toISOString().slice(0, 10));

    const insights = Object.fromEntries(
      names.map((name): [StatisticsSeriesName, SeriesInsightsResponse] => {
        const values = series[name];
        const [min, max] = BOUNDS[name];
        const clamp = (value: number) => round(Math.min(max, Math.max(min, value)), 2);
        const anomalies = findAnomalies(values, periodStart, today, first).map((anomaly) => ({
          day: days[anomaly.index],
          value: anomaly.value,
          expected: round(anomaly.expected, 2),
          score: round(anomaly.score, 2),
          direction: anomaly.direction,
        }));
        const { history, observed } = filledHistory(values.slice(first, today));
        const result = forecast(history, observed);
        return [
          name,
          {
            anomalies,
            forecast: {
              method: result.method,
              parameters: result.parameters,
              sigma: result.sigma === null ? null : round(result.sigma, 2),
              points: result.points.map((point) => [forecastDays[point.ahead - 1], clamp(point.value), clamp(point.low), clamp(point.high)]),
            },
          },
        ];
      }),
    ) as unknown as InsightsResponse['series'];

    return {
      period,
      since: `${days[periodStart]}T00:00:00.000Z`,
      history_since: first < today ? `${days[first]}T00:00:00.000Z` : null,
      series: insights,
      generated_at: generatedAt.toISOString(),
    };
  }
}

/**
 * The series for the forecast without gaps: leading days without a value dropped, any other day without one (avg_score
 * on a day without assessments) given the value of the same weekday a week before, else of the day before; `observed`
 * keeps which values were measured, since only those count as forecast errors.
 */
export function filledHistory(values: (number | null)[]): { history: number[]; observed: boolean[] } {
  const start = values.findIndex((value) => value !== null);
  if (start < 0) return { history: [], observed: [] };
  const history: number[] = [];
  const observed: boolean[] = [];
  for (const value of values.slice(start)) {
    observed.push(value !== null);
    history.push(value ?? (history.length >= 7 ? history[history.length - 7] : history[history.length - 1]));
  }
  return { history, observed };
}
