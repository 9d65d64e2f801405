import { characterCount, cutToCharacters } from './characters';

describe('characters', () => {
  it('counts code points, as char_length does, not UTF-16 units', () => {
    expect(characterCount('abc')).toBe(3);
    expect(characterCount('😀😀')).toBe(2);
    expect('😀😀'.length).toBe(4);
    expect(characterCount('名前')).toBe(2);
  });

  it('cuts to at most max characters, never inside a surrogate pair', () => {
    expect(cutToCharacters('😀'.repeat(5), 3)).toBe('😀😀😀');
    expect(cutToCharacters('a😀b', 2)).toBe('a😀');
    expect(cutToCharacters('short', 10)).toBe('short');
    // Four UTF-16 units, two characters: within a limit of 3 characters, kept whole.
    expect(cutToCharacters('😀😀', 3)).toBe('😀😀');
  });
});
