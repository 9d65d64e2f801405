import { demoActivity, HOUR_MS, mix } from './demo-activity';

const users = Array.from({ length: 60 }, (_, i) => ({ id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, createdAt: new Date(0) }));
const content = [
  { id: '10000000-0000-4000-8000-000000000001', contentType: 'lesson' },
  { id: '10000000-0000-4000-8000-000000000002', contentType: 'quiz' },
];
// Wednesday 2026-12-02 00:00 UTC.
const DAY = Date.UTC(2026, 11, 2);

describe('demoActivity', () => {
  it('gives distinct ids to the events of two (hour, user) streams whose 32-bit seeds collide', () => {
    // 10:00 on a weekday, the busiest hour: a collision whose stream has events comes within a few hundred thousand ids.
    const hour = DAY / HOUR_MS + 10;
    const seen = new Map<number, string>();
    let twins: [string, string] | undefined;
    for (let i = 0; twins === undefined; i++) {
      const id = `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;
      const other = seen.get(mix(7, hour, id));
      if (other !== undefined && demoActivity(7, [{ id, createdAt: new Date(0) }], content, hour * HOUR_MS - 1, (hour + 1) * HOUR_MS - 1).length > 0) twins = [other, id];
      seen.set(mix(7, hour, id), id);
    }
    const rows = demoActivity(7, twins.map((id) => ({ id, createdAt: new Date(0) })), content, hour * HOUR_MS - 1, (hour + 1) * HOUR_MS - 1);
    // The same stream: the same times and types for both users…
    const of = (userId: string) => rows.filter((row) => row.userId === userId);
    expect(of(twins[0]).map((row) => [row.occurredAt, row.type])).toEqual(of(twins[1]).map((row) => [row.occurredAt, row.type]));
    // …but ids of their own.
    expect(new Set(rows.map((row) => row.id)).size).toBe(rows.length);
    expect(rows.every((row) => /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(row.id))).toBe(true);
  });

  it('gives the same events for an interval however it is cut', () => {
    const whole = demoActivity(7, users, content, DAY, DAY + 24 * HOUR_MS);
    const cut = DAY + 13 * HOUR_MS + 1_234_567;
    const parts = [...demoActivity(7, users, content, DAY, cut), ...demoActivity(7, users, content, cut, DAY + 24 * HOUR_MS)];
    expect(parts.map((row) => row.id)).toEqual(whole.map((row) => row.id));
    expect(new Set(whole.map((row) => row.id)).size).toBe(whole.length);
    expect(whole.every((row) => row.occurredAt.getTime() > DAY && row.occurredAt.getTime() <= DAY + 24 * HOUR_MS)).toBe(true);
  });

  it('fills every daytime hour of a weekday and keeps nights quiet, at about three events a user a day', () => {
    const rows = demoActivity(7, users, content, DAY, DAY + 24 * HOUR_MS);
    const perHour = Array.from({ length: 24 }, (_, hour) => rows.filter((row) => row.occurredAt.getUTCHours() === hour).length);
    expect(rows.length).toBeGreaterThan(150);
    expect(rows.length).toBeLessThan(210);
    expect(Math.min(...perHour.slice(7, 22))).toBeGreaterThan(0);
    expect(perHour[2]).toBeLessThan(perHour[10]);
    // Weekends are about half as busy.
    const saturday = demoActivity(7, users, content, DAY + 3 * 24 * HOUR_MS, DAY + 4 * 24 * HOUR_MS);
    expect(saturday.length).toBeLessThan(rows.length * 0.7);
  });

  it('leaves out users before they joined and links lessons and assessments to matching content', () => {
    const late = [{ id: users[0].id, createdAt: new Date(DAY + 12 * HOUR_MS) }, ...users.slice(1)];
    const rows = demoActivity(7, late, content, DAY, DAY + 24 * HOUR_MS);
    expect(rows.filter((row) => row.userId === users[0].id).every((row) => row.occurredAt.getTime() >= DAY + 12 * HOUR_MS)).toBe(true);
    expect(rows.filter((row) => row.type === 'lesson_completed').every((row) => row.contentId === content[0].id)).toBe(true);
    expect(rows.filter((row) => row.type === 'assessment_submitted').every((row) => row.contentId === content[1].id)).toBe(true);
  });
});
