import { parseCsvRoster, parseJsonRoster } from './roster-parser.js';

const NOW = Date.parse('2026-03-10T12:00:00Z');

describe('roster parser', () => {
  it('reads quoted CSV cells (commas, quotes, line breaks) and numbers rows by their line', () => {
    const parsed = parseCsvRoster('\ufeffEmail,Name,is_active\r\na@x.example,"Doe, ""Jo""",TRUE\r\nb@x.example,"Two\nLines",no\r\n\r\nc@x.example,Cee,\r\n', NOW);
    expect(parsed.errors).toEqual([]);
    expect(parsed.rows.map((row) => [row.label, row.email, row.name, row.isActive])).toEqual([
      ['line 2', 'a@x.example', 'Doe, "Jo"', true],
      ['line 4', 'b@x.example', 'Two\nLines', false],
      ['line 6', 'c@x.example', 'Cee', null],
    ]);
  });

  it('trims CSV cells as the JSON roster trims its strings: a padded external id is the same id, a blank cell no value', () => {
    const parsed = parseCsvRoster('external_id,email,name,role\n  lms-1 , a@x.example , Ada ,student \n   ,b@x.example,Bo,\n', NOW);
    expect(parsed.errors).toEqual([]);
    expect(parsed.rows.map((row) => [row.externalId, row.email, row.name, row.role])).toEqual([
      ['lms-1', 'a@x.example', 'Ada', 'student'],
      [null, 'b@x.example', 'Bo', null],
    ]);
    expect(parseJsonRoster({ users: [{ external_id: '  lms-1 ', name: 'Ada' }] }, NOW).rows.map((row) => row.externalId)).toEqual(['lms-1']);
  });

  it('refuses an is_active cell that names an inherited property (constructor, __proto__) like any other bad value', () => {
    const parsed = parseCsvRoster('external_id,name,is_active\nx-1,One,constructor\nx-2,Two,__proto__\nx-3,Three,yes\n', NOW);
    expect(parsed.errors).toEqual([
      { field: 'line 2.is_active', message: 'is_active must be true or false' },
      { field: 'line 3.is_active', message: 'is_active must be true or false' },
    ]);
  });

  it('refuses rows with a cell too many, naming the line', () => {
    const parsed = parseCsvRoster('external_id,name\nx-1,One\nx-2,Two,extra\n', NOW);
    expect(parsed.rows).toEqual([]);
    expect(parsed.errors).toEqual([{ field: 'line 3', message: expect.stringMatching(/^not valid CSV/) }]);
  });

  it('refuses two rows with the same e-mail, whatever its case', () => {
    const parsed = parseJsonRoster({ users: [{ email: 'A@x.example', name: 'A' }, { email: 'a@X.example', name: 'B' }] }, NOW);
    expect(parsed.errors).toEqual([{ field: 'users[1].email', message: 'email repeats users[0]' }]);
  });

  it('refuses more than 50,000 rows', () => {
    const users = Array.from({ length: 50_001 }, (_, index) => ({ external_id: `u${index}`, name: 'N' }));
    expect(parseJsonRoster({ users }, NOW).errors).toEqual([{ field: 'users', message: 'a roster has at most 50000 rows' }]);
  });
});
