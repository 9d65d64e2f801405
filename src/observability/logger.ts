import { LoggerService } from '@nestjs/common';
import pino, { DestinationStream, Logger } from 'pino';
import { currentRequestContext } from '../correlation/request-context.js';

const REDACT_PATHS = [
  'password',
  '*.password',
  'access_token',
  '*.access_token',
  'token',
  '*.token',
  'authorization',
  '*.authorization',
  '*.headers.authorization',
  '*.headers.cookie',
  'cookie',
  '*.cookie',
  'password_hash',
  '*.password_hash',
];

export interface LoggerOptions {
  level: string;
  serviceName: string;
  pretty?: boolean;
  destination?: DestinationStream;
}

/** JSON lines; while serving a request every line carries its correlation, request, organization and user ids. */
export function createLogger(options: LoggerOptions): Logger {
  const base = {
    level: options.level,
    base: { service: options.serviceName },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
    formatters: { level: (label: string) => ({ level: label }) },
    mixin() {
      const context = currentRequestContext();
      if (!context) return {};
      return {
        correlation_id: context.correlationId,
        request_id: context.requestId,
        organization_id: context.organizationId ?? null,
        user_id: context.userId ?? null,
      };
    },
  };
  if (options.destination) return pino(base, options.destination);
  if (options.pretty) return pino({ ...base, transport: { target: 'pino-pretty', options: { singleLine: true, translateTime: 'SYS:HH:MM:ss.l' } } });
  return pino(base);
}

/** Nest's logger interface over pino, so framework and application lines share one format. */
export class PinoNestLogger implements LoggerService {
  constructor(private readonly logger: Logger) {}

  log(message: unknown, context?: string): void {
    this.write('info', message, context);
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
    const fields: Record<string, unknown> = {};
    if (context) fields.context = context;
    if (stack) fields.stack = stack;
    if (message instanceof Error) this.logger[level]({ ...fields, err: message }, message.message);
    else if (typeof message === 'object' && message !== null) this.logger[level]({ ...fields, ...message });
    else this.logger[level](fields, String(message));
  }
}
