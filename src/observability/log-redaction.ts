import pino from 'pino';

/** Keys whose values never reach a log line, wherever they sit (headers, bodies, errors, config). */
const SECRET_KEYS = [
  'authorization',
  'cookie',
  '"set-cookie"',
  'password',
  'password_hash',
  'current_password',
  'new_password',
  'access_token',
  'refresh_token',
  'token',
  'jwtSecret',
  'JWT_SECRET',
  'METRICS_TOKEN',
];

// pino's redaction has no recursive wildcard: cover the depths a logged request, body or error reaches.
const DEPTHS = ['', '*.', '*.*.', '*.*.*.'];

export const REDACT_PATHS = DEPTHS.flatMap((prefix) => SECRET_KEYS.map((key) => pathTo(prefix, key)));

function pathTo(prefix: string, key: string): string {
  if (!key.startsWith('"')) return `${prefix}${key}`;
  return prefix === '' ? `[${key}]` : `${prefix.slice(0, -1)}[${key}]`;
}

export const CENSOR = '[REDACTED]';

const BEARER = /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi;
const JWT = /\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g;

/** Tokens that slip into free text (an error message quoting a header) are cut out as well. */
export function scrubSecrets(text: string): string {
  if (!text.includes('ey') && !/bearer|basic/i.test(text)) return text;
  return text.replace(BEARER, `$1 ${CENSOR}`).replace(JWT, CENSOR);
}

/** pino's error serializer (type, message, stack, cause) with secrets scrubbed from message and stack. */
export function serializeError(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  const serialized = pino.stdSerializers.err(error) as unknown as Record<string, unknown>;
  if (typeof serialized.message === 'string') serialized.message = scrubSecrets(serialized.message);
  if (typeof serialized.stack === 'string') serialized.stack = scrubSecrets(serialized.stack);
  return serialized;
}
