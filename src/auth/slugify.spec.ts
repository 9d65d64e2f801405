import { slugify } from './auth.service';

describe('slugify', () => {
  it.each([
    ['Northwind Académie', 'northwind-academie'],
    ['  --Hello,  World!--  ', 'hello-world'],
    ['École Nº 5', 'ecole-no-5'],
    ['数学', 'organization'],
    ['', 'organization'],
    ['a'.repeat(59) + ' b c', 'a'.repeat(59)],
  ])('%j → %j', (name, slug) => {
    expect(slugify(name)).toBe(slug);
  });

  it('always matches the organizations.slug CHECK constraint', () => {
    for (const name of ['x', 'Ünïcødé Schøøl', '-'.repeat(300), 'A'.repeat(300), 'a - b']) {
      expect(slugify(name)).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
      expect(slugify(name).length).toBeLessThanOrEqual(60);
    }
  });
});
