import { Injectable, PipeTransform } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { validate } from 'class-validator';
import { ValidationFailedException } from '../errors/api-errors.js';
import type { FieldError } from '../errors/problem.js';
import { flatten } from '../errors/validation.pipe.js';
import { EventInput, IngestEventsRequest } from './dto/event.dto.js';
import { wellFormedBatch } from './well-formed-batch.js';

/** A batch whose shape is right as a whole; errors of single events are kept for the service to report with its own. */
export interface CheckedBatch {
  events: EventInput[];
  eventErrors: FieldError[];
}

// A field of one event; an element that is not an object at all (events[2]) fails the whole batch at once.
const EVENT_FIELD = /^events\[\d+\]\./;

/**
 * Validates POST /events like the global validation pipe (unknown fields rejected, types checked), but does not
 * throw for bad single events: the service adds the rules that need the database, so one 400 names every bad event.
 */
@Injectable()
export class EventBatchPipe implements PipeTransform<unknown, Promise<CheckedBatch>> {
  async transform(value: unknown): Promise<CheckedBatch> {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new ValidationFailedException([{ field: 'events', message: 'the body must be an object with an events array' }]);
    }
    const events = wellFormedBatch(value);
    if (events) return { events, eventErrors: [] };
    // ValidateNested lets an array through where an event should be (it validates its items instead).
    const nested = 'events' in value && Array.isArray(value.events) ? value.events.flatMap((event: unknown, index) => (Array.isArray(event) ? [index] : [])) : [];
    if (nested.length > 0) throw new ValidationFailedException(nested.map((index) => ({ field: `events[${index}]`, message: `events[${index}] must be an event object, not an array` })));
    const request = plainToInstance(IngestEventsRequest, value, { enableImplicitConversion: false });
    const errors = flatten(await validate(request, { whitelist: true, forbidNonWhitelisted: true, stopAtFirstError: false }));
    const eventErrors = errors.filter((error) => EVENT_FIELD.test(error.field));
    if (eventErrors.length < errors.length) throw new ValidationFailedException(errors);
    return { events: request.events, eventErrors };
  }
}
