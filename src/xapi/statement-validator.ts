import type { FieldError } from '../errors/problem.js';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;
// An IRI needs a scheme (RFC 3987); beyond that the specification allows best-effort checking.
const IRI = /^[A-Za-z][A-Za-z0-9+.-]*:[^\s]+$/;
const MAILTO = /^mailto:[^@\s]+@[^@\s]+$/;
const SHA1 = /^[0-9a-f]{40}$/i;
const LANGUAGE_TAG = /^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$/;
// ISO 8601 date-time with a time zone (Z, ±hh:mm or ±hhmm), fractions of any length.
const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-]\d{2}(:?\d{2})?)$/;
// ISO 8601 duration in the basic format (PnYnMnWnDTnHnMnS); the alternative format is not allowed.
const DURATION = /^P(?=\d|T\d)(\d+(?:\.\d+)?Y)?(\d+(?:\.\d+)?M)?(\d+(?:\.\d+)?W)?(\d+(?:\.\d+)?D)?(T(?=\d)(\d+(?:\.\d+)?H)?(\d+(?:\.\d+)?M)?(\d+(?:\.\d+)?S)?)?$/;

const STATEMENT_KEYS = ['id', 'actor', 'verb', 'object', 'result', 'context', 'timestamp', 'stored', 'authority', 'version', 'attachments'];
const AGENT_KEYS = ['objectType', 'name', 'mbox', 'mbox_sha1sum', 'openid', 'account'];
const GROUP_KEYS = [...AGENT_KEYS, 'member'];
const IFIS = ['mbox', 'mbox_sha1sum', 'openid', 'account'];
const ACTIVITY_DEFINITION_KEYS = ['name', 'description', 'type', 'moreInfo', 'extensions', 'interactionType', 'correctResponsesPattern', 'choices', 'scale', 'source', 'target', 'steps'];
const RESULT_KEYS = ['score', 'success', 'completion', 'response', 'duration', 'extensions'];
const SCORE_KEYS = ['scaled', 'raw', 'min', 'max'];
const CONTEXT_KEYS = ['registration', 'instructor', 'team', 'contextActivities', 'contextAgents', 'contextGroups', 'revision', 'platform', 'language', 'statement', 'extensions'];

export const isObject = (value: unknown): value is JsonObject => typeof value === 'object' && value !== null && !Array.isArray(value);
export const isUuid = (value: unknown): value is string => typeof value === 'string' && UUID.test(value);
export const isTimestamp = (value: unknown): value is string => {
  if (typeof value !== 'string') return false;
  const match = TIMESTAMP.exec(value);
  return match !== null && !Number.isNaN(Date.parse(value)) && calendarOk(match);
};
export const isDuration = (value: unknown): value is string => typeof value === 'string' && DURATION.test(value);
const isIri = (value: unknown) => typeof value === 'string' && IRI.test(value);

function calendarOk(match: RegExpExecArray): boolean {
  const [year, month, day, hour, minute, second] = [Number(match[1]), Number(match[2]), Number(match[3]), Number(match[4]), Number(match[5]), Number(match[6])];
  const days = new Date(Date.UTC(year, month, 0)).getUTCDate();
  return month >= 1 && month <= 12 && day >= 1 && day <= days && hour < 24 && minute < 60 && second < 60;
}

/**
 * The errors that make an LRS reject a statement under the xAPI specification (1.0.3 and 2.0.0): required
 * properties, no nulls outside extensions, no unknown keys, IRIs with a scheme, UUIDs, an Agent actor with exactly
 * one inverse functional identifier, timestamps with a time zone, scores in range, ISO 8601 durations.
 * `path` prefixes every field name ("statements[3]").
 */
export function statementErrors(statement: unknown, path: string): FieldError[] {
  const errors: FieldError[] = [];
  const add = (field: string, message: string) => errors.push({ field: field ? `${path}.${field}` : path, message });
  if (!isObject(statement)) {
    add('', 'a statement must be a JSON object');
    return errors;
  }
  // The walk that names each null builds a path for every property: it runs only when there is one to name.
  if (holdsNull(statement)) nulls(statement, '', add);
  unknownKeys(statement, STATEMENT_KEYS, '', add);
  // A null was reported above: it gets no second error from the checks of its property.
  const given = (key: string) => statement[key] !== undefined && statement[key] !== null;
  if (given('id') && !isUuid(statement.id)) add('id', 'id must be a UUID');
  if (statement.actor === undefined) add('actor', 'actor is required');
  else if (given('actor')) actorErrors(statement.actor, 'actor', add);
  if (statement.verb === undefined) add('verb', 'verb is required');
  else if (!given('verb')) {
    // reported as null above
  } else if (!isObject(statement.verb)) add('verb', 'verb must be an object');
  else {
    unknownKeys(statement.verb, ['id', 'display'], 'verb', add);
    if (!isIri(statement.verb.id)) add('verb.id', 'verb.id must be an IRI');
    if (statement.verb.display !== undefined && statement.verb.display !== null) languageMap(statement.verb.display, 'verb.display', add);
  }
  if (statement.object === undefined) add('object', 'object is required');
  else if (given('object')) objectErrors(statement.object, 'object', add, true);
  if (given('result')) resultErrors(statement.result, add);
  if (given('context')) contextErrors(statement.context, add);
  if (given('timestamp') && !isTimestamp(statement.timestamp)) add('timestamp', 'timestamp must be an ISO 8601 date-time with a time zone');
  if (given('stored') && !isTimestamp(statement.stored)) add('stored', 'stored must be an ISO 8601 date-time with a time zone');
  if (given('version') && (typeof statement.version !== 'string' || !/^(1\.0(\.\d+)?|2\.0\.0)$/.test(statement.version))) add('version', 'version must be 1.0.x or 2.0.0');
  if (given('attachments') && !Array.isArray(statement.attachments)) add('attachments', 'attachments must be an array');
  return errors;
}

type Add = (field: string, message: string) => void;

/** Whether a null appears anywhere outside extensions (the check of every statement, so it allocates nothing). */
function holdsNull(value: Json): boolean {
  if (value === null) return true;
  if (typeof value !== 'object') return false;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (holdsNull(value[i])) return true;
    return false;
  }
  for (const key in value) if (Object.hasOwn(value, key) && key !== 'extensions' && holdsNull(value[key])) return true;
  return false;
}

function nulls(value: Json, field: string, add: Add): void {
  if (value === null) {
    add(field, `${field || 'the statement'} must not be null`);
    return;
  }
  if (Array.isArray(value)) value.forEach((item, index) => nulls(item, `${field}[${index}]`, add));
  else if (isObject(value)) {
    for (const [key, child] of Object.entries(value)) {
      // Extensions may hold any JSON, null included.
      if (key !== 'extensions') nulls(child, field ? `${field}.${key}` : key, add);
    }
  }
}

function unknownKeys(value: JsonObject, allowed: string[], field: string, add: Add): void {
  for (const key in value) if (Object.hasOwn(value, key) && !allowed.includes(key)) add(field ? `${field}.${key}` : key, `${key} is not a property the xAPI specification allows here`);
}

function languageMap(value: Json, field: string, add: Add): void {
  if (!isObject(value)) return add(field, `${field} must be a language map`);
  for (const tag in value) {
    if (!Object.hasOwn(value, tag)) continue;
    if (!LANGUAGE_TAG.test(tag)) add(`${field}.${tag}`, `${tag} is not a language tag`);
    else if (typeof value[tag] !== 'string') add(`${field}.${tag}`, 'a language map holds strings');
  }
}

/** The number of inverse functional identifiers, each checked for its format. */
function identifiers(agent: JsonObject, field: string, add: Add): number {
  let present = 0;
  for (const key of IFIS) if (agent[key] !== undefined) present++;
  if (agent.mbox !== undefined && (typeof agent.mbox !== 'string' || !MAILTO.test(agent.mbox))) add(`${field}.mbox`, 'mbox must be a mailto: IRI');
  if (agent.mbox_sha1sum !== undefined && (typeof agent.mbox_sha1sum !== 'string' || !SHA1.test(agent.mbox_sha1sum))) add(`${field}.mbox_sha1sum`, 'mbox_sha1sum must be a hex SHA-1');
  if (agent.openid !== undefined && !isIri(agent.openid)) add(`${field}.openid`, 'openid must be a URI');
  if (agent.account !== undefined) {
    if (!isObject(agent.account)) add(`${field}.account`, 'account must be an object');
    else {
      unknownKeys(agent.account, ['homePage', 'name'], `${field}.account`, add);
      if (!isIri(agent.account.homePage)) add(`${field}.account.homePage`, 'account.homePage must be an IRL');
      if (typeof agent.account.name !== 'string' || agent.account.name === '') add(`${field}.account.name`, 'account.name must be a non-empty string');
    }
  }
  if (agent.name !== undefined && typeof agent.name !== 'string') add(`${field}.name`, 'name must be a string');
  return present;
}

/** The actor this endpoint accepts: an Agent identified by exactly one inverse functional identifier. */
function actorErrors(actor: Json, field: string, add: Add): void {
  if (!isObject(actor)) return add(field, `${field} must be an object`);
  if (actor.objectType !== undefined && actor.objectType !== 'Agent') return add(`${field}.objectType`, `${field} must be an Agent`);
  unknownKeys(actor, AGENT_KEYS, field, add);
  const count = identifiers(actor, field, add);
  if (count !== 1) add(field, `${field} must have exactly one of mbox, mbox_sha1sum, openid and account (found ${count})`);
}

function objectErrors(object: Json, field: string, add: Add, topLevel: boolean): void {
  if (!isObject(object)) return add(field, `${field} must be an object`);
  const type = object.objectType ?? 'Activity';
  switch (type) {
    case 'Activity':
      unknownKeys(object, ['objectType', 'id', 'definition'], field, add);
      if (!isIri(object.id)) add(`${field}.id`, `${field}.id must be an IRI`);
      if (object.definition !== undefined) definitionErrors(object.definition, `${field}.definition`, add);
      return;
    case 'Agent':
      unknownKeys(object, AGENT_KEYS, field, add);
      if (identifiers(object, field, add) !== 1) add(field, `an Agent needs exactly one inverse functional identifier`);
      return;
    case 'Group':
      unknownKeys(object, GROUP_KEYS, field, add);
      if (identifiers(object, field, add) > 1) add(field, 'a Group has at most one inverse functional identifier');
      if (object.member !== undefined && !Array.isArray(object.member)) add(`${field}.member`, 'member must be an array of Agents');
      return;
    case 'StatementRef':
      unknownKeys(object, ['objectType', 'id'], field, add);
      if (!isUuid(object.id)) add(`${field}.id`, 'a StatementRef id must be a UUID');
      return;
    case 'SubStatement':
      if (!topLevel) return add(`${field}.objectType`, 'a SubStatement cannot contain a SubStatement');
      unknownKeys(object, ['objectType', 'actor', 'verb', 'object', 'result', 'context', 'timestamp', 'attachments'], field, add);
      if (!isObject(object.actor)) add(`${field}.actor`, 'actor is required');
      if (!isObject(object.verb) || !isIri(object.verb.id)) add(`${field}.verb.id`, 'verb.id must be an IRI');
      if (object.object === undefined) add(`${field}.object`, 'object is required');
      else objectErrors(object.object, `${field}.object`, add, false);
      return;
    default:
      add(`${field}.objectType`, 'objectType must be Activity, Agent, Group, StatementRef or SubStatement');
  }
}

function definitionErrors(definition: Json, field: string, add: Add): void {
  if (!isObject(definition)) return add(field, `${field} must be an object`);
  unknownKeys(definition, ACTIVITY_DEFINITION_KEYS, field, add);
  if (definition.name !== undefined) languageMap(definition.name, `${field}.name`, add);
  if (definition.description !== undefined) languageMap(definition.description, `${field}.description`, add);
  if (definition.type !== undefined && !isIri(definition.type)) add(`${field}.type`, 'type must be an IRI');
  if (definition.moreInfo !== undefined && !isIri(definition.moreInfo)) add(`${field}.moreInfo`, 'moreInfo must be an IRL');
}

function resultErrors(result: Json, add: Add): void {
  if (!isObject(result)) return add('result', 'result must be an object');
  unknownKeys(result, RESULT_KEYS, 'result', add);
  if (result.success !== undefined && typeof result.success !== 'boolean') add('result.success', 'success must be a boolean');
  if (result.completion !== undefined && typeof result.completion !== 'boolean') add('result.completion', 'completion must be a boolean');
  if (result.response !== undefined && typeof result.response !== 'string') add('result.response', 'response must be a string');
  if (result.duration !== undefined && !isDuration(result.duration)) add('result.duration', 'duration must be an ISO 8601 duration such as PT1H30M');
  if (result.extensions !== undefined && !isObject(result.extensions)) add('result.extensions', 'extensions must be an object');
  if (result.score === undefined) return;
  if (!isObject(result.score)) return add('result.score', 'score must be an object');
  const score = result.score;
  unknownKeys(score, SCORE_KEYS, 'result.score', add);
  for (const key of SCORE_KEYS) {
    if (score[key] !== undefined && (typeof score[key] !== 'number' || !Number.isFinite(score[key]))) add(`result.score.${key}`, `${key} must be a number`);
  }
  const number = (key: string) => (typeof score[key] === 'number' ? (score[key] as number) : undefined);
  const [scaled, raw, min, max] = SCORE_KEYS.map(number);
  if (scaled !== undefined && (scaled < -1 || scaled > 1)) add('result.score.scaled', 'scaled must be between -1 and 1');
  if (min !== undefined && max !== undefined && min >= max) add('result.score.min', 'min must be less than max');
  if (raw !== undefined && min !== undefined && raw < min) add('result.score.raw', 'raw must not be less than min');
  if (raw !== undefined && max !== undefined && raw > max) add('result.score.raw', 'raw must not be greater than max');
}

function contextErrors(context: Json, add: Add): void {
  if (!isObject(context)) return add('context', 'context must be an object');
  unknownKeys(context, CONTEXT_KEYS, 'context', add);
  if (context.registration !== undefined && !isUuid(context.registration)) add('context.registration', 'registration must be a UUID');
  if (context.revision !== undefined && typeof context.revision !== 'string') add('context.revision', 'revision must be a string');
  if (context.platform !== undefined && typeof context.platform !== 'string') add('context.platform', 'platform must be a string');
  if (context.language !== undefined && (typeof context.language !== 'string' || !LANGUAGE_TAG.test(context.language))) add('context.language', 'language must be a language tag');
  if (context.contextActivities !== undefined && !isObject(context.contextActivities)) add('context.contextActivities', 'contextActivities must be an object');
  if (context.statement !== undefined && (!isObject(context.statement) || !isUuid(context.statement.id))) add('context.statement', 'statement must be a StatementRef');
  if (context.extensions !== undefined && !isObject(context.extensions)) add('context.extensions', 'extensions must be an object');
}
