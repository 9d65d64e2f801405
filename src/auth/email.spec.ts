import { isValidEmail, normalizeEmail } from './email';

describe('normalizeEmail', () => {
  it('trims, composes and lowercases so that every spelling of one address is one string', () => {
    expect(normalizeEmail('  Ada@Example.TEST \n')).toBe('ada@example.test');
    // U+0130 lowercases to a plain i (as PostgreSQL's lower() does), not to i + U+0307 as toLowerCase does.
    expect('\u0130'.toLowerCase()).toBe('i\u0307');
    expect(normalizeEmail('\u0130ris@example.test')).toBe('iris@example.test');
    expect(normalizeEmail('\u0130R\u0130S@EXAMPLE.TEST')).toBe('iris@example.test');
    // Decomposed and composed é are one address.
    expect(normalizeEmail('Jose\u0301@example.test')).toBe('jos\u00e9@example.test');
    expect(normalizeEmail('JOS\u00c9@example.test')).toBe('jos\u00e9@example.test');
    // No final-sigma context rule: the same letter maps the same wherever it stands.
    expect(normalizeEmail('ΣΑΣ@example.test')).toBe('σασ@example.test');
  });

  it('is idempotent', () => {
    for (const email of ['\u0130ris@x.test', ' MiXeD@Case.Test', 'Jose\u0301@x.test', 'ΣΑΣ@x.test']) {
      expect(normalizeEmail(normalizeEmail(email))).toBe(normalizeEmail(email));
    }
  });

  it('tells valid addresses from anything else', () => {
    expect(isValidEmail('ada@example.test')).toBe(true);
    expect(isValidEmail('iris@example.test')).toBe(true);
    for (const bad of ['', 'ada', 'ada@', '@example.test', 'a b@example.test', `${'a'.repeat(250)}@x.test`]) expect(isValidEmail(bad)).toBe(false);
  });
});
