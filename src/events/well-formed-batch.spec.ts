import 'reflect-metadata';
import { plainToInstance } from 'class-transformer';
import { validate } from 'class-validator';
import { IngestEventsRequest } from './dto/event.dto.js';
import { wellFormedBatch } from './well-formed-batch.js';

const NOW = Date.parse('2026-03-10T12:00:00Z');
const USER = '0b8f0c5e-3f7a-4c1e-9d2a-5b6c7d8e9f01';
const valid = { id: '1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f', type: 'session', user_id: USER, occurred_at: '2026-03-10T11:00:00.123Z', duration_seconds: 600 };

/** What the DTO (class-transformer + class-validator, as EventBatchPipe runs them) says about a body. */
async function dtoErrors(body: unknown): Promise<number> {
  const request = plainToInstance(IngestEventsRequest, body, { enableImplicitConversion: false });
  return (await validate(request as object, { whitelist: true, forbidNonWhitelisted: true })).length;
}

// One change at a time to a valid event: each case either stays valid or breaks exactly one rule.
const variants: Record<string, unknown>[] = [
  {},
  { id: undefined },
  { id: null },
  { id: 'not-a-uuid' },
  { id: '1C2D3E4F-5A6B-4C7D-8E9F-0A1B2C3D4E5F' },
  { id: '1c2d3e4f-5a6b-0c7d-8e9f-0a1b2c3d4e5f' },
  { id: 42 },
  { type: 'login' },
  { type: 'lesson_completed', duration_seconds: undefined, score: 80 },
  { type: 'assessment_submitted', score: 100 },
  { type: 'Login' },
  { type: ['login'] },
  { user_id: undefined },
  { user_id: null },
  { user_id: `${USER} ` },
  { occurred_at: '2026-03-10T12:04:59Z' },
  { occurred_at: '2026-03-10T12:05:01Z' },
  { occurred_at: '2026-03-10T11:00:00' },
  { occurred_at: '2024-02-30T10:00:00Z' },
  { occurred_at: '2026-03-10T11:00:00+02:00' },
  { occurred_at: 1773140400000 },
  { content_id: USER },
  { content_id: null },
  { content_id: '' },
  { duration_seconds: 0 },
  { duration_seconds: 86400 },
  { duration_seconds: 86401 },
  { duration_seconds: -1 },
  { duration_seconds: 1.5 },
  { duration_seconds: '600' },
  { score: 0 },
  { score: 99.5 },
  { score: 100.01 },
  { score: Number.NaN },
  { score: Number.POSITIVE_INFINITY },
  { score: '50' },
  { extra: true },
  // Learner and content by external id: exactly one of each pair, a name or title only with the external id.
  { user_id: undefined, user_external_id: 'lms-1' },
  { user_id: null, user_external_id: 'lms-1', user_name: 'Ada' },
  { user_id: undefined, user_external_id: '' },
  { user_id: undefined, user_external_id: 'x'.repeat(255) },
  { user_id: undefined, user_external_id: 'x'.repeat(256) },
  { user_id: undefined, user_external_id: 42 },
  { user_external_id: 'lms-1' },
  { user_name: 'Ada' },
  { user_id: undefined, user_external_id: 'lms-1', user_name: '' },
  { user_id: undefined, user_external_id: 'lms-1', user_name: 'y'.repeat(201) },
  { content_external_id: 'course-7' },
  { content_external_id: 'course-7', content_title: 'Fractions' },
  { content_external_id: 'course-7', content_id: USER },
  { content_title: 'Fractions' },
  { content_external_id: 'course-7', content_title: 'z'.repeat(301) },
  { content_external_id: null, content_title: null },
];

describe('wellFormedBatch', () => {
  // The DTO's IsNotFuture reads the real clock: freeze it where the variants were written.
  beforeEach(() => jest.useFakeTimers({ now: NOW, doNotFake: ['nextTick', 'setImmediate'] }));
  afterEach(() => jest.useRealTimers());

  it('accepts a valid batch as it is, without copying the events', () => {
    const body = { events: [valid, { ...valid, id: undefined, type: 'login', duration_seconds: undefined }] };
    expect(wellFormedBatch(body, NOW)).toBe(body.events);
  });

  it.each(variants.map((change) => [JSON.stringify(change), change]))('never accepts what the DTO refuses: %s', async (_name, change) => {
    const event = Object.assign(JSON.parse(JSON.stringify(valid)) as Record<string, unknown>, change);
    const body = { events: [valid, event] };
    const errors = await dtoErrors(body);
    if (wellFormedBatch(body, NOW) !== null) expect(errors).toBe(0);
    // The valid variants must take the fast way too, or it would save nothing.
    if (errors === 0) expect(wellFormedBatch(body, NOW)).not.toBeNull();
  });

  it('leaves an external id with surrounding whitespace to the DTO, which trims it', () => {
    const { user_id: _user, ...rest } = valid;
    expect(wellFormedBatch({ events: [{ ...rest, user_external_id: 'lms-1' }] }, NOW)).not.toBeNull();
    expect(wellFormedBatch({ events: [{ ...rest, user_external_id: ' lms-1' }] }, NOW)).toBeNull();
    expect(wellFormedBatch({ events: [{ ...valid, content_external_id: 'c-1\t' }] }, NOW)).toBeNull();
  });

  it('refuses an own __proto__ key, leaving it to the DTO', () => {
    const body: unknown = JSON.parse(`{"events":[${JSON.stringify(valid).slice(0, -1)},"__proto__":{"polluted":true}}]}`);
    expect(wellFormedBatch(body, NOW)).toBeNull();
  });

  it('refuses an event that is an array (which the DTO would let through)', () => {
    expect(wellFormedBatch({ events: [valid, [valid]] }, NOW)).toBeNull();
  });

  it.each([
    ['no events', {}],
    ['empty events', { events: [] }],
    ['1,001 events', { events: Array.from({ length: 1001 }, () => valid) }],
    ['events not an array', { events: valid }],
    ['an element that is not an object', { events: [valid, 'x'] }],
    ['another top-level field', { events: [valid], dry_run: true }],
    ['a body that is an array', [valid]],
  ])('leaves %s to the DTO, which refuses it', async (_name, body) => {
    expect(wellFormedBatch(body, NOW)).toBeNull();
    expect(await dtoErrors(body)).toBeGreaterThan(0);
  });
});
