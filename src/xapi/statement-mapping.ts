import { hash } from 'node:crypto';
import type { EventType } from '../database/entities/activity-event.entity.js';
import type { ContentType } from '../database/entities/educational-content.entity.js';
import type { FieldError } from '../errors/problem.js';
import { characterCount } from '../common/characters.js';
import { uuidText } from '../common/flat-uuid.js';
import { isObject, isUuid, type Json, type JsonObject } from './statement-validator.js';

const ADL = 'http://adlnet.gov/expapi/verbs/';
const VERB_EVENTS: Readonly<Record<string, EventType>> = {
  [`${ADL}completed`]: 'lesson_completed',
  [`${ADL}passed`]: 'assessment_submitted',
  [`${ADL}failed`]: 'assessment_submitted',
  [`${ADL}scored`]: 'assessment_submitted',
  'https://w3id.org/xapi/adl/verbs/logged-in': 'login',
  [`${ADL}terminated`]: 'session',
  [`${ADL}exited`]: 'session',
  [`${ADL}suspended`]: 'session',
};
const LESSON_TYPES = ['lesson', 'module', 'course'];
const QUIZ_TYPES = ['assessment', 'cmi.interaction', 'question'];
/** The longest session an activity event holds (one day); a longer xAPI duration is capped to it. */
const MAX_SESSION_SECONDS = 86_400;
/** How far ahead of the time it is stored a statement's timestamp may put its event (as for POST /events). */
const MAX_FUTURE_SKEW_MS = 5 * 60 * 1000;
/** The longest external id of a learner or content item (the column's limit, in characters). */
export const MAX_EXTERNAL_ID_LENGTH = 255;
/** Namespace of the event ids derived from statement ids (a fixed, random UUID). */
const EVENT_ID_NAMESPACE = Buffer.from('6f1c2a4e8b3d4c5ea7f90b1d2e3c4a5b', 'hex');
/** The namespace followed by a statement id (a UUID's 36 characters): the name an event id is hashed from, written in place. */
const EVENT_ID_NAME = Buffer.concat([EVENT_ID_NAMESPACE, Buffer.alloc(36)]);

/** The activity event a statement makes, with its learner and content named by external id. */
export interface MappedStatement {
  eventId: string;
  type: EventType;
  learner: { externalId: string; name: string };
  content: { externalId: string; title: string; contentType: ContentType } | null;
  occurredAt: Date;
  durationSeconds: number | null;
  score: number | null;
}

/**
 * The learner's external id: the actor's identifier as `mailto:…`, `sha1:<hex>`, `openid:<uri>` or
 * `<homePage>|<name>` (an account). Exactly one is present in a valid statement.
 */
export function learnerExternalId(actor: JsonObject): string {
  if (typeof actor.mbox === 'string') return actor.mbox;
  if (typeof actor.mbox_sha1sum === 'string') return `sha1:${actor.mbox_sha1sum.toLowerCase()}`;
  if (typeof actor.openid === 'string') return `openid:${actor.openid}`;
  const account = actor.account as JsonObject;
  return `${account.homePage as string}|${account.name as string}`;
}

/** The display text of a language map: en-US, then en, then the first entry. */
export function languageText(map: Json | undefined): string | null {
  if (!isObject(map)) return null;
  const text = map['en-US'] ?? map['en'] ?? Object.values(map)[0];
  return typeof text === 'string' && text.trim() !== '' ? text.trim() : null;
}

/** lesson for …/activities/lesson, module, course; quiz for assessment, cmi.interaction, question; else reference. */
export function contentTypeOf(activityType: Json | undefined): ContentType {
  if (typeof activityType !== 'string') return 'reference';
  // The last path segment, trailing slashes ignored, cut out once (not split into every segment).
  let end = activityType.length;
  while (end > 0 && activityType.charCodeAt(end - 1) === 0x2f) end--;
  const last = activityType.slice(activityType.lastIndexOf('/', end - 1) + 1, end);
  if (LESSON_TYPES.includes(last)) return 'lesson';
  if (QUIZ_TYPES.includes(last)) return 'quiz';
  return 'reference';
}

/** 0–100: scaled × 100 (negative → 0); else (raw − min) ÷ (max − min) × 100; else raw when within 0–100; else none. */
export function scoreOf(result: Json | undefined): number | null {
  if (!isObject(result) || !isObject(result.score)) return null;
  const { scaled, raw, min, max } = result.score;
  if (typeof scaled === 'number') return Math.max(0, scaled) * 100;
  if (typeof raw === 'number' && typeof min === 'number' && typeof max === 'number' && max > min) {
    const score = ((raw - min) / (max - min)) * 100;
    // max − min beyond the largest double (e.g. ±1e308) gives NaN: no usable score, as for a missing one.
    return Number.isFinite(score) ? Math.min(100, Math.max(0, score)) : null;
  }
  if (typeof raw === 'number' && raw >= 0 && raw <= 100) return raw;
  return null;
}

/** Seconds of an ISO 8601 duration (a year taken as 365 days, a month as 30), rounded. */
export function durationSeconds(duration: string): number {
  const match = /^P(?:([\d.]+)Y)?(?:([\d.]+)M)?(?:([\d.]+)W)?(?:([\d.]+)D)?(?:T(?:([\d.]+)H)?(?:([\d.]+)M)?(?:([\d.]+)S)?)?$/.exec(duration);
  if (!match) return 0;
  const units = [365 * 86400, 30 * 86400, 7 * 86400, 86400, 3600, 60, 1];
  return Math.round(units.reduce((total, unit, index) => total + Number(match[index + 1] ?? 0) * unit, 0));
}

/** A name-based (version 5 style) UUID of the statement id: the same statement always makes the same event id. */
export function eventIdOf(statementId: string): string {
  // One-shot hashes: a Hash object per statement was a few per cent of a batch's CPU. A UUID's name is written into
  // one buffer kept for it (synchronous: no other statement's id can be written in between), not two new ones joined.
  const id = statementId.toLowerCase();
  let name: Buffer;
  if (isUuid(id)) {
    EVENT_ID_NAME.write(id, 16, 'latin1');
    name = EVENT_ID_NAME;
  } else name = Buffer.concat([EVENT_ID_NAMESPACE, Buffer.from(id)]);
  const bytes = hash('sha1', name, 'buffer');
  bytes[6] = (bytes[6] & 0x0f) | 0x50;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  // One flat string: each event id stays in memory until its batch commits, and is written to PostgreSQL whole.
  return uuidText(bytes);
}

/**
 * The event a valid statement makes, or null when it makes none: a verb not in the mapping, an object that is not
 * an Activity, or a session verb without result.duration. occurred_at is the timestamp (the stored time when there
 * is none, or when it lies more than 5 minutes ahead of it), in UTC.
 */
export function mapStatement(statement: JsonObject, statementId: string, stored: Date): MappedStatement | null {
  const type = eventTypeOf(statement);
  if (!type) return null;
  const object = statement.object as JsonObject;
  const result = isObject(statement.result) ? statement.result : undefined;
  const duration = typeof result?.duration === 'string' ? durationSeconds(result.duration) : null;

  const actor = statement.actor as JsonObject;
  const learnerId = learnerExternalId(actor);
  const definition = isObject(object.definition) ? object.definition : undefined;
  const activityId = object.id as string;
  const timestamp = typeof statement.timestamp === 'string' ? new Date(statement.timestamp) : stored;
  return {
    eventId: eventIdOf(statementId),
    type,
    learner: { externalId: learnerId, name: typeof actor.name === 'string' && actor.name.trim() !== '' ? actor.name.trim() : learnerId },
    // A login names the platform it logged in to, not a piece of content.
    content: type === 'login' ? null : { externalId: activityId, title: languageText(definition?.name) ?? activityId, contentType: contentTypeOf(definition?.type) },
    occurredAt: timestamp.getTime() > stored.getTime() + MAX_FUTURE_SKEW_MS ? stored : timestamp,
    durationSeconds: type === 'session' ? Math.min(duration ?? 0, MAX_SESSION_SECONDS) : null,
    score: type === 'lesson_completed' || type === 'assessment_submitted' ? scoreOf(result) : null,
  };
}

/**
 * What makes two statements with one id "the same" (xAPI's immutability rules): actor, verb id, object (an
 * Activity's definition is not part of the statement), result, context and the timestamp's instant; never id,
 * stored, authority, version or the verb's display. Hashed from a canonical (key-sorted) serialization.
 */
export function statementSignature(statement: JsonObject): string {
  const object = isObject(statement.object) && (statement.object.objectType ?? 'Activity') === 'Activity' ? { id: statement.object.id } : statement.object;
  const comparable = {
    actor: statement.actor,
    verb: (statement.verb as JsonObject).id,
    object,
    result: statement.result ?? null,
    context: statement.context ?? null,
    timestamp: typeof statement.timestamp === 'string' ? Date.parse(statement.timestamp) : null,
  };
  return hash('sha256', canonical(comparable as Json), 'hex');
}

/**
 * Keys as JSON text with their colon. Statements repeat the same names: the first 512 distinct keys of up to 100
 * characters are kept, so that no client's keys can make the map grow without bound.
 */
const QUOTED_KEYS = new Map<string, string>();
function quotedKey(key: string): string {
  let quoted = QUOTED_KEYS.get(key);
  if (quoted === undefined) {
    quoted = `${JSON.stringify(key)}:`;
    if (QUOTED_KEYS.size < 512 && key.length <= 100) QUOTED_KEYS.set(key, quoted);
  }
  return quoted;
}

/** Keys sorted at every level, undefined members left out, JSON text for keys and scalars; built as one string (it runs per statement). */
function canonical(value: Json): string {
  if (Array.isArray(value)) {
    let text = '[';
    for (let i = 0; i < value.length; i++) text += (i === 0 ? '' : ',') + canonical(value[i]);
    return `${text}]`;
  }
  if (isObject(value)) {
    let text = '{';
    for (const key of sortedKeys(value)) {
      const member = value[key];
      if (member === undefined) continue;
      text += (text.length === 1 ? '' : ',') + quotedKey(key) + canonical(member);
    }
    return `${text}}`;
  }
  return JSON.stringify(value);
}

/**
 * An object's keys in Array.prototype.sort's order (UTF-16 code units). A statement's objects have a handful of keys,
 * sorted in place by insertion (the general sort's work array was an eighth of what an xAPI batch allocated); a larger
 * object, such as a client's extensions, takes the general sort, whose time does not grow with the square of its keys.
 */
function sortedKeys(value: JsonObject): string[] {
  const keys = Object.keys(value);
  if (keys.length > 16) return keys.sort();
  for (let i = 1; i < keys.length; i++) {
    const key = keys[i];
    let j = i - 1;
    for (; j >= 0 && keys[j] > key; j--) keys[j + 1] = keys[j];
    keys[j + 1] = key;
  }
  return keys;
}

/** The event type a valid statement makes: its verb mapped, its object an Activity, a session verb with a duration. */
function eventTypeOf(statement: JsonObject): EventType | null {
  const type = VERB_EVENTS[(statement.verb as JsonObject).id as string];
  const object = statement.object as JsonObject;
  if (!type || (object.objectType !== undefined && object.objectType !== 'Activity')) return null;
  if (type === 'session' && !(isObject(statement.result) && typeof statement.result.duration === 'string')) return null;
  return type;
}

/**
 * What a valid statement that makes an event needs beyond the xAPI rules: its learner's identifier and its activity id
 * become external ids of at most 255 characters. A statement that makes no event is stored whatever their length.
 */
export function externalIdErrors(statement: JsonObject, path: string): FieldError[] {
  const type = eventTypeOf(statement);
  if (!type) return [];
  const errors: FieldError[] = [];
  const learnerId = learnerExternalId(statement.actor as JsonObject);
  if (characterCount(learnerId) > MAX_EXTERNAL_ID_LENGTH) {
    errors.push({ field: `${path}.actor`, message: `the learner's identifier makes an external id of ${characterCount(learnerId)} characters; at most ${MAX_EXTERNAL_ID_LENGTH} are kept` });
  }
  const activityId = (statement.object as JsonObject).id as string;
  if (type !== 'login' && characterCount(activityId) > MAX_EXTERNAL_ID_LENGTH) {
    errors.push({ field: `${path}.object.id`, message: `the activity id is ${characterCount(activityId)} characters; at most ${MAX_EXTERNAL_ID_LENGTH} are kept as the content's external id` });
  }
  return errors;
}
