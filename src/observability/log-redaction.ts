import pino from 'pino';

/** Keys whose values never reach a log line, wherever they sit (headers, bodies, errors, config); compared in lower case. */
const SECRET_KEYS = new Set([
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'password',
  'password_hash',
  'current_password',
  'new_password',
  'access_token',
  'refresh_token',
  'device_token',
  'token',
  'jwtsecret',
  'jwt_secret',
  'metrics_token',
  // A failed query's bind values (TypeORM's QueryFailedError.parameters) may hold password hashes or e-mails; its SQL stays.
  'parameters',
]);

// Deep enough for a request's headers or a body's nested credentials; deeper objects are cut, never walked forever.
const MAX_DEPTH = 8;

export const CENSOR = '[REDACTED]';

const BEARER = /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi;
const JWT = /\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g;
const MAYBE_SECRET = /eyJ|bearer|basic/i;

/** Tokens that slip into free text (an error message quoting a header) are cut out as well. */
export function scrubSecrets(text: string): string {
  if (!MAYBE_SECRET.test(text)) return text;
  return text.replace(BEARER, `$1 ${CENSOR}`).replace(JWT, CENSOR);
}

/**
 * A copy of a log object with secret keys censored and tokens scrubbed from strings, at any depth; the
 * object itself when nothing changes (the common case costs one walk, no copy). Hand-written because
 * pino's path-based redaction needs one wildcard path per depth and cost ~30x a plain log line.
 */
export function redactSecrets(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return scrubSecrets(value);
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof Error) return serializeError(value);
  if (depth >= MAX_DEPTH) return '[too deep]';
  if (Array.isArray(value)) {
    const items = value.map((item) => redactSecrets(item, depth + 1));
    return items.some((item, index) => item !== value[index]) ? items : value;
  }
  if (!isPlainObject(value)) return value;
  let copy: Record<string, unknown> | undefined;
  for (const key of Object.keys(value)) {
    const original = (value as Record<string, unknown>)[key];
    const redacted = SECRET_KEYS.has(key.toLowerCase()) && original !== undefined && original !== null ? CENSOR : redactSecrets(original, depth + 1);
    if (redacted !== original) {
      copy ??= { ...(value as Record<string, unknown>) };
      copy[key] = redacted;
    }
  }
  return copy ?? value;
}

/** pino's error serializer (type, message, stack, cause, own properties), redacted like any other object. */
export function serializeError(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  // The serializer's result inherits from its own prototype: copy it to a plain object to walk it.
  const serialized = Object.fromEntries(Object.entries(pino.stdSerializers.err(error)));
  return redactSecrets(serialized);
}

function isPlainObject(value: object): boolean {
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}
