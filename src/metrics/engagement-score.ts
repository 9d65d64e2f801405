import { round } from './statistics.js';

/** What SQL counts for one day X: W7 = the 7 days ending X, W30 = the 30 days ending X. */
export interface EngagementInputs {
  /** Sum over W7 of each day's distinct active users (= distinct (day, user) pairs in W7). */
  dailyActiveUsersSumW7: number;
  activeUsersW7: number;
  activeUsersW30: number;
  sessionsW7: number;
  sessionSecondsW7: number;
  lessonsCompletedW7: number;
}

/** 100 × (0.5 S + 0.25 D + 0.25 C), one decimal; each part is 0 when its denominator is. */
export function engagementScore(inputs: EngagementInputs): number {
  const stickiness = inputs.activeUsersW30 === 0 ? 0 : inputs.dailyActiveUsersSumW7 / 7 / inputs.activeUsersW30;
  const sessionMinutes = inputs.sessionsW7 === 0 ? 0 : inputs.sessionSecondsW7 / inputs.sessionsW7 / 60;
  const duration = Math.min(1, sessionMinutes / 30);
  const completion = inputs.activeUsersW7 === 0 ? 0 : Math.min(1, inputs.lessonsCompletedW7 / (3 * inputs.activeUsersW7));
  return round(100 * (0.5 * stickiness + 0.25 * duration + 0.25 * completion), 1);
}
