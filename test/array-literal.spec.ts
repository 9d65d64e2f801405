import { Client } from 'pg';
import { arrayLiteral } from '../src/database/array-literal.js';
import { ADMIN_DATABASE_URL } from './support/test-env.js';

describe('arrayLiteral', () => {
  it('joins unquoted elements with NULL for null', () => {
    expect(arrayLiteral(['a', 1.5, null, 'lesson_completed'])).toBe('{a,1.5,NULL,lesson_completed}');
    expect(arrayLiteral([])).toBe('{}');
  });

  it('throws for a value that would need quoting, holds a comma or is empty, instead of sending another array', () => {
    for (const value of ['a,b', 'a b', '{a}', 'say "hi"', 'back\\slash', '', 'tab\tbed']) expect(() => arrayLiteral(['ok', value])).toThrow(/need no quoting/);
  });

  it('reads back in PostgreSQL as the values node-postgres would have sent, for each kind it is used for', async () => {
    const client = new Client({ connectionString: ADMIN_DATABASE_URL });
    await client.connect();
    try {
      const ids = ['3f1c2a4e-8b3d-4c5e-a7f9-0b1d2e3c4a5b', null];
      const times = [new Date('2026-03-01T10:00:00.250Z'), new Date('1999-12-31T23:59:59.999Z')];
      const numbers = [0, 86_400, 12.345678901234567, null];
      const query = `SELECT $1::uuid[] AS ids, $2::timestamptz[] AS times, $3::float8[] AS numbers, $4::text[] AS words`;
      const words = ['login', 'assessment_submitted'];
      const literal = await client.query(query, [arrayLiteral(ids), arrayLiteral(times.map((time) => time.toISOString())), arrayLiteral(numbers), arrayLiteral(words)]);
      const quoted = await client.query(query, [ids, times, numbers, words]);
      expect(literal.rows).toEqual(quoted.rows);
      expect(literal.rows[0]).toEqual({ ids, times, numbers, words });
    } finally {
      await client.end();
    }
  });
});
