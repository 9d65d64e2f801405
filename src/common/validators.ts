import { registerDecorator, ValidationOptions } from 'class-validator';

const ISO_DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(:(\d{2})(\.\d{1,6})?)?(Z|[+-](\d{2}):(\d{2}))$/;

/** class-transformer's @Transform for text stored trimmed (names, titles, external ids); anything else is left to the validators. */
export const trimText = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value);

export function isIsoDateTime(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  const match = ISO_DATE_TIME.exec(value);
  if (!match) return false;
  const part = (index: number) => Number(match[index] ?? 0);
  const [year, month, day, hour, minute, second, offsetHours, offsetMinutes] = [1, 2, 3, 4, 5, 7, 10, 11].map(part);
  // Date.parse rolls 2024-02-30 over to March 1: check the calendar ourselves.
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  const inRange = month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth && hour < 24 && minute < 60 && second < 60 && offsetHours < 24 && offsetMinutes < 60;
  return inRange && Date.parse(value) > Date.UTC(1970, 0, 1);
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
