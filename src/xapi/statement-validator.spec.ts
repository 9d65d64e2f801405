import { isTimestamp, statementErrors } from './statement-validator.js';

const ADL = 'http://adlnet.gov/expapi/verbs/';
const valid = () => ({
  id: '3f1c2a4e-8b3d-4c5e-a7f9-0b1d2e3c4a5b',
  actor: { objectType: 'Agent', account: { homePage: 'https://lms.example', name: 'u-1' } },
  verb: { id: `${ADL}completed`, display: { 'en-US': 'completed' } },
  object: { objectType: 'Activity', id: 'https://lms.example/lesson/1', definition: { name: { 'en-US': 'Fractions' }, type: 'http://adlnet.gov/expapi/activities/lesson' } },
  result: { score: { scaled: 0.5 }, extensions: { 'https://lms.example/x': null } },
  timestamp: '2026-03-01T10:00:00.250+01:00',
});
const fields = (statement: unknown) => statementErrors(statement, 'statements[0]').map((error) => error.field);

describe('statementErrors', () => {
  it('accepts a valid statement, nulls inside extensions included', () => {
    expect(statementErrors(valid(), 'statements[0]')).toEqual([]);
  });

  it('names every null outside extensions by its path, at any depth and inside arrays', () => {
    const statement = { ...valid(), actor: { ...valid().actor, name: null }, object: { ...valid().object, definition: { name: { 'en-US': null } } }, context: { contextActivities: { parent: [{ id: null }] } } };
    expect(statementErrors(statement, 'statements[0]').filter((error) => error.message.endsWith('must not be null'))).toEqual([
      { field: 'statements[0].actor.name', message: 'actor.name must not be null' },
      { field: 'statements[0].object.definition.name.en-US', message: 'object.definition.name.en-US must not be null' },
      { field: 'statements[0].context.contextActivities.parent[0].id', message: 'context.contextActivities.parent[0].id must not be null' },
    ]);
    // The only null inside an array is found as well.
    expect(fields({ ...valid(), context: { contextActivities: { grouping: [{ id: 'https://lms.example/course/1' }, null] } } })).toEqual(['statements[0].context.contextActivities.grouping[1]']);
  });

  it('names unknown keys at each level, bad language tags and non-string texts, and counts one identifier of an Agent', () => {
    const statement = {
      ...valid(),
      mood: 'happy',
      actor: { mbox: 'mailto:a@school.example', openid: 'https://id.example/a', shoe: 1 },
      verb: { id: `${ADL}completed`, display: { 'not a tag': 'x', en: 5 } },
    };
    expect(fields(statement)).toEqual([
      'statements[0].mood',
      'statements[0].actor.shoe',
      'statements[0].actor',
      'statements[0].verb.display.not a tag',
      'statements[0].verb.display.en',
    ]);
  });
});

describe('isTimestamp', () => {
  it('takes ISO 8601 date-times with a zone and refuses dates the calendar does not have', () => {
    expect(['2026-02-28T23:59:59Z', '2024-02-29T00:00:00+05:30', '2026-12-31T12:00:00.123456-0800'].map(isTimestamp)).toEqual([true, true, true]);
    expect(['2026-02-29T00:00:00Z', '2026-04-31T00:00:00Z', '2026-13-01T00:00:00Z', '2026-01-01T24:00:00Z', '2026-01-01T10:00:00', 20260101].map(isTimestamp)).toEqual([
      false,
      false,
      false,
      false,
      false,
      false,
    ]);
  });
});
