import { HttpException, HttpStatus } from '@nestjs/common';
import type { FieldError } from './problem.js';

/** 400 naming every bad field; what the validation pipe and the domain rules both raise. */
export class ValidationFailedException extends HttpException {
  constructor(
    readonly errors: FieldError[],
    detail = 'The request has invalid fields',
  ) {
    super(detail, HttpStatus.BAD_REQUEST);
  }
}

export class TooManyRequestsException extends HttpException {
  constructor(
    readonly retryAfterSeconds: number,
    detail = 'Rate limit exceeded',
  ) {
    super(detail, HttpStatus.TOO_MANY_REQUESTS);
  }
}

export class ServiceUnavailableProblem extends HttpException {
  /** retryAfterSeconds, when given, is sent as Retry-After and retry_after. */
  constructor(
    detail: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(detail, HttpStatus.SERVICE_UNAVAILABLE);
  }
}
