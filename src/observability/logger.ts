import { LoggerService } from '@nestjs/common';
import pino, { DestinationStream, Logger } from 'pino';
import pinoPretty from 'pino-pretty';
import { currentRequestContext, logFieldsOf } from '../correlation/request-context.js';
import { batchedStdout } from './batched-line-writer.js';
import { redactSecrets, scrubSecrets, serializeError } from './log-redaction.js';

export interface LoggerOptions {
  level: string;
  serviceName: string;
  pretty?: boolean;
  destination?: DestinationStream;
}

const NO_FIELDS = Object.freeze({});

/**
 * The same text as one flat string: V8 keeps a concatenation as a tree of its pieces and walks the tree each time it
 * copies it out, so the parts every line repeats are flattened once (a JSON round trip keeps any text exactly).
 */
function flatString(text: string): string {
  return JSON.parse(JSON.stringify(text)) as string;
}

let formattedAt = -1;
let formattedTime = '';

/** pino's isoTime, formatted once per millisecond: under load many lines share one, and toISOString was ~2 % of a cached hit. */
export function isoTimeOncePerMs(): string {
  const now = Date.now();
  if (now !== formattedAt) {
    formattedAt = now;
    formattedTime = flatString(`,"time":"${new Date(now).toISOString()}"`);
  }
  return formattedTime;
}

/** What every line starts with, the plain completion line included: the level label, the time, the service. */
function lineStart(serviceName: string) {
  return { base: { service: serviceName }, timestamp: isoTimeOncePerMs, levelLabel: (label: string) => ({ level: label }) };
}

/** JSON lines; while serving a request every line carries its correlation, request, organization and user ids. */
export function createLogger(options: LoggerOptions): Logger {
  const start = lineStart(options.serviceName);
  const base: pino.LoggerOptions = {
    level: options.level,
    base: start.base,
    timestamp: start.timestamp,
    serializers: { err: serializeError, error: serializeError },
    formatters: {
      level: start.levelLabel,
      log: (object: Record<string, unknown>) => redactSecrets(object) as Record<string, unknown>,
    },
    hooks: {
      logMethod(args, method) {
        for (let i = 0; i < args.length; i++) if (typeof args[i] === 'string') args[i] = scrubSecrets(args[i] as string);
        method.apply(this, args);
      },
    },
    // Read at each line from the request context: the organization and user appear once the auth guard has run. A line
    // that names its request itself (the completion line, written after the request's context may be gone) keeps its own.
    mixin: (merge: object) => ('correlation_id' in merge ? NO_FIELDS : logFieldsOf(currentRequestContext() ?? {})),
    mixinMergeStrategy: (merge: object, mixin: object) => (mixin === NO_FIELDS ? merge : Object.assign(mixin, merge)),
  };
  if (options.destination) return withPlainLines(pino(base, options.destination), options.destination, options.serviceName);
  if (options.pretty) {
    // In this process and synchronous: a transport would start a worker thread (tens of MB, slower start) for a console.
    const pretty = pinoPretty({
      sync: true,
      destination: 1,
      singleLine: true,
      translateTime: 'SYS:HH:MM:ss',
      ignore: 'pid,hostname,service,context',
      messageFormat: '{if context}[{context}] {end}{msg}',
    });
    return pino(base, pretty);
  }
  // One synchronous write of stdout per event-loop turn: pino's default asynchronous stream re-measures its growing buffer
  // on every line while a write is in flight (35-50 MB of garbage at ~19,000 lines/s), and a write per line costs a
  // system call per request (docs/performance.md).
  return withPlainLines(pino(base, batchedStdout()), batchedStdout(), options.serviceName);
}

/** A field of a line written by writeInfoLine: flat values only. */
export type PlainField = string | number | boolean | null | undefined;

/** What a JSON-lines logger's plain lines are written with: its destination and the constant parts of every line. */
interface PlainLines {
  destination: DestinationStream;
  /** `{"level":"info"`: the level label first, as pino writes it. */
  start: string;
  /** `,"service":"…"`: the base, after the time. */
  service: string;
}

const plainLines = new WeakMap<Logger, PlainLines>();

function withPlainLines(logger: Logger, destination: DestinationStream, serviceName: string): Logger {
  const start = lineStart(serviceName);
  plainLines.set(logger, {
    destination,
    start: flatString(`{"level":${jsonString(start.levelLabel('info').level)}`),
    service: flatString(`,"service":${jsonString(serviceName)}`),
  });
  return logger;
}

/** What pino's quoting treats specially: a control character, a quote or a backslash. */
const NEEDS_QUOTING_CARE = /["\\\u0000-\u001f]/;

/** `,"key":` for each field name a plain line has used: the names come from the code, so the map stays small. */
const keyParts = new Map<string, string>();

function keyPart(key: string): string {
  let part = keyParts.get(key);
  if (part === undefined) {
    part = `,${jsonString(key)}:`;
    keyParts.set(key, part);
  }
  return part;
}

/**
 * A JSON string as pino writes it (its asString): a short string is quoted with `"` and `\` escaped, and anything with a
 * control character, or longer than 100 characters, goes through JSON.stringify. Kept to pino's rule so a plain line is
 * byte for byte what pino would have written.
 */
function jsonString(value: string): string {
  if (value.length > 100) return JSON.stringify(value);
  // Most strings of a plain line (ids, methods, route templates) hold none: one native scan instead of a loop in JavaScript.
  if (!NEEDS_QUOTING_CARE.test(value)) return `"${value}"`;
  let escaped = '';
  let last = 0;
  let found = false;
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code < 32) return JSON.stringify(value);
    if (code === 34 || code === 92) {
      escaped += `${value.slice(last, i)}\\`;
      last = i;
      found = true;
    }
  }
  // Not `last === 0`: a quote or backslash at the very start leaves it there too.
  return `"${found ? escaped + value.slice(last) : value}"`;
}

/** A flat value as pino writes it: non-finite numbers as null, undefined left out (by the caller). */
function jsonValue(value: Exclude<PlainField, undefined>): string {
  if (typeof value === 'string') return jsonString(value);
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : 'null';
  return String(value);
}

/**
 * Writes one info line as `logger.info(fields, message)` would, byte for byte, without pino's per-line work (the hook,
 * the mixin, the redaction walk, the generic serializer): the completion line, written once per request, names its request
 * itself and holds no secret (ids, method, route template, status, duration), so that work would find nothing to do, and
 * its flat fields need only pino's string quoting. A pretty console, or a logger not made by createLogger, gets the line
 * through the logger itself.
 */
export function writeInfoLine(logger: Logger, fields: Record<string, PlainField>, message: string): void {
  const plain = plainLines.get(logger);
  if (!plain) return void logger.info(fields, message);
  if (!logger.isLevelEnabled('info')) return;
  plain.destination.write(`${plain.start}${isoTimeOncePerMs()}${plain.service}${renderFields(fields)},"msg":${jsonString(message)}}\n`);
}

/** `,"name":value` for each defined field, in order, as pino writes them. */
function renderFields(fields: Readonly<Record<string, PlainField>>): string {
  let rendered = '';
  for (const key in fields) {
    const value = fields[key];
    if (value !== undefined) rendered += keyPart(key) + jsonValue(value);
  }
  return rendered;
}

/**
 * An info line that repeats everything but three values: two string fields, then `fields` (the same on every line), then
 * a number field, and the message. The repeated parts are rendered once; write(…) writes byte for byte what
 * writeInfoLine(logger, { [firstKey]: first, [secondKey]: second, ...fields, [lastKey]: last }, message) would, without
 * rendering them again or walking an object: for the completion lines of requests that differ only in their ids and
 * duration (cached hits). A pretty console, or a logger not made by createLogger, gets the same fields through pino.
 */
export class PlainInfoLine {
  /** `,"first":` */
  private readonly firstPart: string;
  /** `,"second":` */
  private readonly secondPart: string;
  /** `,"field":value` for each defined field, then `,"last":` */
  private readonly middlePart: string;
  /** `,"msg":"…"}` and the newline */
  private readonly endPart: string;

  constructor(
    private readonly firstKey: string,
    private readonly secondKey: string,
    readonly fields: Readonly<Record<string, PlainField>>,
    private readonly lastKey: string,
    private readonly message: string,
  ) {
    this.firstPart = flatString(keyPart(firstKey));
    this.secondPart = flatString(keyPart(secondKey));
    this.middlePart = flatString(renderFields(fields) + keyPart(lastKey));
    this.endPart = flatString(`,"msg":${jsonString(message)}}\n`);
  }

  write(logger: Logger, first: string, second: string, last: number): void {
    const plain = plainLines.get(logger);
    if (!plain) return void logger.info({ [this.firstKey]: first, [this.secondKey]: second, ...this.fields, [this.lastKey]: last }, this.message);
    if (!logger.isLevelEnabled('info')) return;
    plain.destination.write(
      plain.start + isoTimeOncePerMs() + plain.service + this.firstPart + jsonString(first) + this.secondPart + jsonString(second) + this.middlePart + jsonValue(last) + this.endPart,
    );
  }
}

/** Nest's start-up narration (one line per module and route): detail for debugging, not news for the console or the log. */
const START_UP_CONTEXTS = new Set(['InstanceLoader', 'RoutesResolver', 'RouterExplorer', 'NestFactory', 'NestApplication']);

/** Nest's logger interface over pino, so framework and application lines share one format. */
export class PinoNestLogger implements LoggerService {
  constructor(private readonly logger: Logger) {}

  log(message: unknown, context?: string): void {
    this.write(context && START_UP_CONTEXTS.has(context) ? 'debug' : 'info', message, context);
  }
  error(message: unknown, stackOrContext?: string, context?: string): void {
    const stack = context ? stackOrContext : undefined;
    this.write('error', message, context ?? stackOrContext, stack);
  }
  warn(message: unknown, context?: string): void {
    this.write('warn', message, context);
  }
  debug(message: unknown, context?: string): void {
    this.write('debug', message, context);
  }
  verbose(message: unknown, context?: string): void {
    this.write('trace', message, context);
  }
  fatal(message: unknown, context?: string): void {
    this.write('fatal', message, context);
  }

  private write(level: pino.Level, message: unknown, context?: string, stack?: string): void {
    if (!this.logger.isLevelEnabled(level)) return;
    const fields: Record<string, unknown> = {};
    if (context) fields.context = context;
    if (stack) fields.stack = scrubSecrets(stack);
    if (message instanceof Error) this.logger[level]({ ...fields, err: message }, message.message);
    else if (typeof message === 'object' && message !== null) this.logger[level]({ ...fields, ...message });
    else this.logger[level](fields, String(message));
  }
}
