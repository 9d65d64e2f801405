/** Length in characters (code points), as PostgreSQL's char_length counts them; String#length counts UTF-16 units. */
export function characterCount(text: string): number {
  let count = 0;
  for (const _ of text) count++;
  return count;
}

/** Text cut to at most max characters (code points): never inside a surrogate pair, and as long as the column allows. */
export function cutToCharacters(text: string, max: number): string {
  if (text.length <= max) return text;
  return characterCount(text) <= max ? text : Array.from(text).slice(0, max).join('');
}
