import { ParseUUIDPipe } from '@nestjs/common';
import { ValidationFailedException } from '../errors/api-errors.js';

/** Path ids must be UUIDs: anything else is a 400 naming the parameter, never a database error. */
export const uuidPipe = new ParseUUIDPipe({
  version: undefined,
  exceptionFactory: () => new ValidationFailedException([{ field: 'id', message: 'id must be a UUID' }], 'The path id is not a UUID'),
});
