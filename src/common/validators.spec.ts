import { isIsoDateTime } from './validators';

describe('isIsoDateTime', () => {
  it.each(['2024-02-29T08:30:00Z', '2024-03-01T02:00:00+02:00', '2025-12-31T23:59:59.999Z', '2025-06-01T12:00Z', '2025-06-01T12:00:00.123456-05:30'])('accepts %s', (value) => {
    expect(isIsoDateTime(value)).toBe(true);
  });

  it.each([
    ['a day the month does not have', '2024-02-30T00:00:00Z'],
    ['February 29 of a common year', '2025-02-29T00:00:00Z'],
    ['month 13', '2025-13-01T00:00:00Z'],
    ['hour 24', '2025-01-01T24:00:00Z'],
    ['minute 60', '2025-01-01T10:60:00Z'],
    ['no time zone', '2025-01-01T10:00:00'],
    ['a date only', '2025-01-01'],
    ['before 1970', '1969-12-31T23:59:59Z'],
    ['words', 'yesterday'],
    ['a number', 1_700_000_000_000],
    ['null', null],
  ])('refuses %s', (_label, value) => {
    expect(isIsoDateTime(value)).toBe(false);
  });
});
