import { registerDecorator, ValidationOptions } from 'class-validator';

const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})$/;

export function isIsoDateTime(value: unknown): value is string {
  return typeof value === 'string' && ISO_DATE_TIME.test(value) && !Number.isNaN(Date.parse(value)) && Date.parse(value) > Date.UTC(1970, 0, 1);
}

/** An ISO 8601 date-time with a zone, not after now plus the allowed skew. */
export function IsNotFuture(skewMs = 0, options?: ValidationOptions) {
  return (target: object, propertyName: string) =>
    registerDecorator({
      name: 'isNotFuture',
      target: target.constructor,
      propertyName,
      options,
      validator: {
        validate: (value: unknown) => isIsoDateTime(value) && Date.parse(value) <= Date.now() + skewMs,
        defaultMessage: () =>
          skewMs > 0
            ? `${propertyName} must be an ISO 8601 date-time with a time zone, at most ${skewMs / 60000} minutes in the future`
            : `${propertyName} must be an ISO 8601 date-time with a time zone, not in the future`,
      },
    });
}
