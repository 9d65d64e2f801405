// A spreadsheet runs a text cell beginning with one of these as a formula (OWASP "CSV injection").
const FORMULA_START = /^[=+\-@\t\r]/;

/** Text cells are prefixed with a single quote when a spreadsheet would run them; numbers pass as they are. */
export function escapeFormula<T>(value: T): T | string {
  return typeof value === 'string' && FORMULA_START.test(value) ? `'${value}` : value;
}
