/** Characters that an element of an array literal would need quoted: braces, quotes, backslashes and white space. */
const NEEDS_QUOTING = /[{}"\\\s]/;

/**
 * A PostgreSQL array literal of values that need no quoting — UUIDs, hex digests, ISO 8601 times, fixed words and
 * numbers; null as NULL — joined once. node-postgres quotes and escapes each element of an array parameter into a
 * string built piece by piece; for a batch's thousands of such values that was the largest share of what a batch
 * allocated after the request's own body. Never for text a client chose: a value that would need quoting (or is
 * empty, or holds a comma) throws rather than change the array.
 */
export function arrayLiteral(values: readonly (string | number | null)[]): string {
  const text = values.map((value) => (value === '' ? unquotable(value) : (value ?? 'NULL'))).join(',');
  if (NEEDS_QUOTING.test(text) || commas(text) !== Math.max(0, values.length - 1)) unquotable(text);
  return `{${text}}`;
}

function commas(text: string): number {
  let count = 0;
  for (let at = text.indexOf(','); at !== -1; at = text.indexOf(',', at + 1)) count++;
  return count;
}

function unquotable(text: string): never {
  throw new Error(`arrayLiteral takes only values that need no quoting: ${JSON.stringify(text.slice(0, 80))}`);
}
