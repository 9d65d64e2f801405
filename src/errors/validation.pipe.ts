import { ValidationError, ValidationPipe } from '@nestjs/common';
import { ValidationFailedException } from './api-errors.js';
import type { FieldError } from './problem.js';

/** Unknown fields rejected, types checked, every bad field named (events[3].score). */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    transformOptions: { enableImplicitConversion: false },
    stopAtFirstError: false,
    exceptionFactory: (errors: ValidationError[]) => new ValidationFailedException(flatten(errors)),
  });
}

export function flatten(errors: ValidationError[], parent = ''): FieldError[] {
  const result: FieldError[] = [];
  for (const error of errors) {
    const field = /^\d+$/.test(error.property) ? `${parent}[${error.property}]` : parent ? `${parent}.${error.property}` : error.property;
    for (const message of Object.values(error.constraints ?? {})) result.push({ field, message });
    if (error.children?.length) result.push(...flatten(error.children, field));
  }
  return result;
}
