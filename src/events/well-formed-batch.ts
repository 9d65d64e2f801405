import { isIsoDateTime } from '../common/validators.js';
import { EVENT_TYPES } from '../database/entities/activity-event.entity.js';
import { EventInput, MAX_BATCH, MAX_EXTERNAL_ID, MAX_FUTURE_SKEW_MS } from './dto/event.dto.js';

// Stricter than class-validator's IsUUID (versions 1–8 with the RFC variant only): whatever this accepts, it accepts.
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;
const FIELDS = new Set(['id', 'type', 'user_id', 'user_external_id', 'user_name', 'occurred_at', 'content_id', 'content_external_id', 'content_title', 'duration_seconds', 'score']);
const TYPES = new Set<string>(EVENT_TYPES);

const absent = (value: unknown) => value === undefined || value === null;
const isPlainObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const isUuid = (value: unknown) => typeof value === 'string' && UUID.test(value);
const isText = (value: unknown, max: number) => typeof value === 'string' && value.length >= 1 && value.length <= max;
// An external id with surrounding whitespace is trimmed by the DTO's transform: it takes the DTO's path.
const isExternalId = (value: unknown) => isText(value, MAX_EXTERNAL_ID) && (value as string).trim() === value;
const inRange = (value: unknown, min: number, max: number) => typeof value === 'number' && Number.isFinite(value) && value >= min && value <= max;

function isWellFormedEvent(event: unknown, latestMs: number): event is EventInput {
  if (!isPlainObject(event)) return false;
  for (const key in event) if (!FIELDS.has(key)) return false;
  const { id, type, user_id, user_external_id, user_name, occurred_at, content_id, content_external_id, content_title, duration_seconds, score } = event;
  return (
    (absent(id) || isUuid(id)) &&
    typeof type === 'string' &&
    TYPES.has(type) &&
    // The learner by exactly one of user_id and user_external_id; a name only with the external id.
    (absent(user_external_id) ? isUuid(user_id) && absent(user_name) : absent(user_id) && isExternalId(user_external_id) && (absent(user_name) || isText(user_name, 200))) &&
    isIsoDateTime(occurred_at) &&
    Date.parse(occurred_at) <= latestMs &&
    (absent(content_external_id)
      ? (absent(content_id) || isUuid(content_id)) && absent(content_title)
      : absent(content_id) && isExternalId(content_external_id) && (absent(content_title) || isText(content_title, 300))) &&
    (absent(duration_seconds) || (inRange(duration_seconds, 0, 86400) && Number.isInteger(duration_seconds))) &&
    (absent(score) || inRange(score, 0, 100))
  );
}

/**
 * The events of a body in which every rule of IngestEventsRequest visibly holds, or null. A large batch costs
 * class-transformer and class-validator tens of milliseconds; the usual, valid one is checked here in a fraction
 * of that. The check is stricter than the DTO, never looser (unit-tested against class-validator): anything it
 * refuses goes through the DTO, which reports the errors.
 */
export function wellFormedBatch(body: unknown, nowMs = Date.now()): EventInput[] | null {
  if (!isPlainObject(body)) return null;
  for (const key in body) if (key !== 'events') return null;
  const events = body.events;
  if (!Array.isArray(events) || events.length < 1 || events.length > MAX_BATCH) return null;
  const latestMs = nowMs + MAX_FUTURE_SKEW_MS;
  for (const event of events) if (!isWellFormedEvent(event, latestMs)) return null;
  return events as EventInput[];
}
