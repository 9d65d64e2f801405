import { engagementScore } from './engagement-score';

describe('engagementScore', () => {
  it('is 0 with no activity at all', () => {
    expect(engagementScore({ dailyActiveUsersSumW7: 0, activeUsersW7: 0, activeUsersW30: 0, sessionsW7: 0, sessionSecondsW7: 0, lessonsCompletedW7: 0 })).toBe(0);
  });

  it('weighs stickiness, session length and completion', () => {
    // S = (7/7)/2 = 0.5; D = min(1, 20 min / 30) = 0.6667; C = min(1, 3 / (3 × 2)) = 0.5
    // 100 × (0.25 + 0.16667 + 0.125) = 54.17 → 54.2
    expect(
      engagementScore({ dailyActiveUsersSumW7: 7, activeUsersW7: 2, activeUsersW30: 2 * 1, sessionsW7: 2, sessionSecondsW7: 2400, lessonsCompletedW7: 3 }),
    ).toBe(54.2);
  });

  it('caps session length and completion at 1', () => {
    // S = (14/7)/2 = 1; D = min(1, 90/30) = 1; C = min(1, 10/3) = 1
    expect(engagementScore({ dailyActiveUsersSumW7: 14, activeUsersW7: 1, activeUsersW30: 2, sessionsW7: 1, sessionSecondsW7: 5400, lessonsCompletedW7: 10 })).toBe(100);
  });
});
