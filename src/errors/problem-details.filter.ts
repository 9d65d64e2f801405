import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import { currentRequestContext } from '../correlation/request-context.js';
import { ServiceUnavailableProblem, TooManyRequestsException, ValidationFailedException } from './api-errors.js';
import { clientStatusForQueryError, isDatabaseUnavailable } from './database-errors.js';
import { FieldError, problem, Problem, sendProblem } from './problem.js';

interface BodyParserError {
  type?: string;
  status?: number;
  expose?: boolean;
}

const BODY_PARSER_ERRORS: Record<string, { status: number; detail: string }> = {
  'entity.parse.failed': { status: 400, detail: 'The request body is not valid JSON' },
  'entity.too.large': { status: 413, detail: 'The request body is too large' },
  'encoding.unsupported': { status: 415, detail: 'The request body encoding is not supported' },
  'charset.unsupported': { status: 415, detail: 'The request body charset is not supported' },
  'request.aborted': { status: 400, detail: 'The request was aborted' },
  'request.size.invalid': { status: 400, detail: 'The request body size does not match Content-Length' },
  'parameters.too.many': { status: 413, detail: 'The request has too many parameters' },
};

/** The one exception filter: every error leaves as application/problem+json; unknown errors are 500 without internals. */
@Catch()
export class ProblemDetailsFilter implements ExceptionFilter {
  private readonly logger = new Logger('Errors');

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<Request>();
    const response = http.getResponse<Response>();
    sendProblem(response, this.toProblem(exception, request.originalUrl ?? request.url));
  }

  /** correlationId defaults to the request context's; the cached-hit fast path, which runs outside it, passes its own. */
  toProblem(exception: unknown, instance: string, correlationId: string | null = currentRequestContext()?.correlationId ?? null): Problem {
    const make = (status: number, detail: string, extra: Partial<Problem> = {}) => problem(status, detail, instance, correlationId, extra);

    // body-parser errors first: they carry a status of their own but a parser message, not ours.
    // Nest's Express adapter wraps them in an HttpException whose cause is the parser's error.
    const bodyParser = (exception instanceof HttpException && exception.cause ? exception.cause : exception) as BodyParserError;
    if (bodyParser && typeof bodyParser.type === 'string' && BODY_PARSER_ERRORS[bodyParser.type]) {
      const known = BODY_PARSER_ERRORS[bodyParser.type];
      return make(known.status, known.detail);
    }
    if (exception instanceof ValidationFailedException) {
      return make(400, exception.message, { errors: exception.errors });
    }
    if (exception instanceof TooManyRequestsException) {
      return make(429, exception.message, { retry_after: exception.retryAfterSeconds });
    }
    if (exception instanceof ServiceUnavailableProblem && exception.retryAfterSeconds !== undefined) {
      return make(503, exception.message, { retry_after: exception.retryAfterSeconds });
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      return make(status, detailOf(exception), fieldErrorsOf(exception));
    }
    if (isDatabaseUnavailable(exception)) {
      this.logger.error({ msg: 'database unavailable', err: exception });
      return make(503, 'The database is unavailable; try again shortly');
    }
    const clientError = clientStatusForQueryError(exception);
    if (clientError) return make(clientError.status, clientError.detail);

    this.logger.error({ msg: 'unhandled error', err: exception });
    return make(500, 'An unexpected error occurred; quote the correlation id when reporting it');
  }
}

function detailOf(exception: HttpException): string {
  const response = exception.getResponse();
  if (typeof response === 'string') return response;
  const message = (response as { message?: unknown }).message;
  if (Array.isArray(message)) return message.join('; ');
  if (typeof message === 'string') return message;
  return exception.message;
}

function fieldErrorsOf(exception: HttpException): Partial<Problem> {
  const response = exception.getResponse() as { errors?: FieldError[] };
  return typeof response === 'object' && Array.isArray(response.errors) ? { errors: response.errors } : {};
}
