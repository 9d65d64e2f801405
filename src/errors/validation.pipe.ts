import { ArgumentMetadata, ValidationError, ValidationPipe } from '@nestjs/common';
import { ValidationFailedException } from './api-errors.js';
import type { FieldError } from './problem.js';

/** Deeper than any request of this API: a 5,000-deep JSON array would overflow class-transformer's recursion (500). */
export const MAX_INPUT_DEPTH = 32;

/**
 * Whether arrays and objects nest deeper than the limit, measured without recursion so the check cannot overflow itself.
 * It runs on every body (an xAPI batch holds thousands of objects): two stacks and no array of each object's values.
 */
export function nestedDeeperThan(value: unknown, limit: number): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const objects: object[] = [value];
  const depths: number[] = [0];
  while (objects.length > 0) {
    const current = objects.pop() as Record<string, unknown>;
    const depth = depths.pop() as number;
    if (depth >= limit) return true;
    // The children pushed here, not through a callback: a closure for each object was most of what this check allocated.
    if (Array.isArray(current)) {
      for (let i = 0; i < current.length; i++) {
        const child: unknown = current[i];
        if (typeof child === 'object' && child !== null) {
          objects.push(child);
          depths.push(depth + 1);
        }
      }
      continue;
    }
    for (const key in current) {
      if (!Object.hasOwn(current, key)) continue;
      const child = current[key];
      if (typeof child === 'object' && child !== null) {
        objects.push(child);
        depths.push(depth + 1);
      }
    }
  }
  return false;
}

// Keys that would reach an object's prototype if merged: class-transformer silently drops them, so they are refused by name.
const PROTOTYPE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** Whether a prototype key appears anywhere (an object key; array indices never are), without building any path. */
function hasPrototypeKey(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const objects: object[] = [value];
  while (objects.length > 0) {
    const current = objects.pop() as Record<string, unknown>;
    if (Array.isArray(current)) {
      for (let i = 0; i < current.length; i++) {
        const child: unknown = current[i];
        if (typeof child === 'object' && child !== null) objects.push(child);
      }
      continue;
    }
    // One pass over the keys: each is checked and its value queued.
    for (const key in current) {
      if (!Object.hasOwn(current, key)) continue;
      if (PROTOTYPE_KEYS.has(key)) return true;
      const child = current[key];
      if (typeof child === 'object' && child !== null) objects.push(child);
    }
  }
  return false;
}

/** Where prototype keys appear in a JSON value, as field paths (events[2].__proto__); paths are built only when there are some. */
export function prototypeKeyFields(value: unknown): string[] {
  if (!hasPrototypeKey(value)) return [];
  const found: string[] = [];
  const pending: [unknown, string][] = [[value, '']];
  while (pending.length > 0) {
    const [current, path] = pending.pop()!;
    if (typeof current !== 'object' || current === null) continue;
    for (const key of Object.keys(current)) {
      const field = Array.isArray(current) ? `${path}[${key}]` : path ? `${path}.${key}` : key;
      if (!Array.isArray(current) && PROTOTYPE_KEYS.has(key)) found.push(field);
      else pending.push([(current as Record<string, unknown>)[key], field]);
    }
  }
  return found.sort();
}

class DepthLimitedValidationPipe extends ValidationPipe {
  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (['body', 'query', 'param'].includes(metadata.type) && nestedDeeperThan(value, MAX_INPUT_DEPTH)) {
      throw new ValidationFailedException([{ field: metadata.type, message: `${metadata.type} nests arrays or objects deeper than ${MAX_INPUT_DEPTH} levels` }], 'The request is nested too deeply');
    }
    if (metadata.type === 'body' || metadata.type === 'query') {
      const fields = prototypeKeyFields(value);
      if (fields.length > 0) throw new ValidationFailedException(fields.map((field) => ({ field, message: `property ${field.split(/[.[]/).pop()} should not exist` })));
    }
    return super.transform(value, metadata);
  }
}

/** Unknown fields rejected, types checked, every bad field named (events[3].score). */
export function createValidationPipe(): ValidationPipe {
  return new DepthLimitedValidationPipe({
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
