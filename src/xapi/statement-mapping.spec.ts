import { createHash } from 'node:crypto';
import { contentTypeOf, durationSeconds, eventIdOf, languageText, learnerExternalId, mapStatement, scoreOf, statementSignature } from './statement-mapping.js';
import { statementErrors } from './statement-validator.js';
import { negotiatedVersion } from './xapi-versions.js';

const ADL = 'http://adlnet.gov/expapi/verbs/';
const base = { actor: { mbox: 'mailto:ada@school.example' }, verb: { id: `${ADL}completed` }, object: { id: 'https://lms.example/lesson/1' } };
const STORED = new Date('2026-03-10T12:00:00.000Z');

describe('xAPI statement mapping', () => {
  it.each([
    [{ scaled: 0.875 }, 87.5],
    [{ scaled: -0.4 }, 0],
    [{ scaled: 1, raw: 3, min: 0, max: 10 }, 100],
    [{ raw: 15, min: 10, max: 20 }, 50],
    [{ raw: 42 }, 42],
    [{ raw: 420 }, null],
    [{ raw: 5, min: 0 }, 5],
    // max − min overflows to Infinity: no score rather than NaN.
    [{ raw: 1e308, min: -1e308, max: 1.5e308 }, null],
    [{}, null],
  ])('scores %j as %p', (score, expected) => {
    expect(scoreOf({ score })).toBe(expected);
  });

  it.each([
    ['PT25M30S', 1530],
    ['PT1H', 3600],
    ['P1DT2H', 93_600],
    ['PT0.75S', 1],
    ['P1W', 604_800],
    ['PT4H35M59.14S', 16_559],
  ])('turns the duration %s into %p seconds', (duration, seconds) => {
    expect(durationSeconds(duration)).toBe(seconds);
  });

  it('names learners by their one identifier', () => {
    expect(learnerExternalId({ mbox: 'mailto:ada@school.example' })).toBe('mailto:ada@school.example');
    expect(learnerExternalId({ mbox_sha1sum: 'ABCDEF0123456789ABCDEF0123456789ABCDEF01' })).toBe('sha1:abcdef0123456789abcdef0123456789abcdef01');
    expect(learnerExternalId({ openid: 'https://id.example/ada' })).toBe('openid:https://id.example/ada');
    expect(learnerExternalId({ account: { homePage: 'https://lms.example', name: '1625378' } })).toBe('https://lms.example|1625378');
  });

  it('titles content en-US, then en, then the first entry; types it from the activity type', () => {
    expect(languageText({ 'de-DE': 'Brüche', en: 'Fractions (en)', 'en-US': 'Fractions' })).toBe('Fractions');
    expect(languageText({ 'de-DE': 'Brüche', en: 'Fractions (en)' })).toBe('Fractions (en)');
    expect(languageText({ 'de-DE': 'Brüche' })).toBe('Brüche');
    expect(languageText(undefined)).toBeNull();
    expect(['lesson', 'module', 'course', 'assessment', 'cmi.interaction', 'question', 'video'].map((type) => contentTypeOf(`http://adlnet.gov/expapi/activities/${type}`))).toEqual([
      'lesson',
      'lesson',
      'lesson',
      'quiz',
      'quiz',
      'quiz',
      'reference',
    ]);
    expect(contentTypeOf(undefined)).toBe('reference');
    // The last path segment decides, trailing slashes ignored; a type without a slash is its own segment.
    expect(['https://lms.example/types/course//', 'question', 'https://lms.example/lesson/video', '/', ''].map(contentTypeOf)).toEqual(['lesson', 'quiz', 'reference', 'reference', 'reference']);
  });

  it('derives one event id per statement id, a version 5 UUID', () => {
    const id = '8f0c6d5a-1b2c-4d3e-8f4a-5b6c7d8e9f00';
    expect(eventIdOf(id)).toBe(eventIdOf(id.toUpperCase()));
    expect(eventIdOf(id)).not.toBe(eventIdOf('8f0c6d5a-1b2c-4d3e-8f4a-5b6c7d8e9f01'));
    expect(eventIdOf(id)).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    // Pinned: events already stored keep the ids their statements derive (computed with the first implementation).
    expect(eventIdOf(id)).toBe('d49d1eb4-fc03-57ef-8c0c-3a25c398d6d5');
  });

  it('maps the verbs of the table, and nothing else', () => {
    const map = (extra: Record<string, unknown>) => mapStatement({ ...base, ...extra } as never, '8f0c6d5a-1b2c-4d3e-8f4a-5b6c7d8e9f00', STORED);
    expect(map({ verb: { id: `${ADL}completed` }, result: { score: { scaled: 0.5 } }, timestamp: '2026-03-10T13:00:00+02:00' })).toMatchObject({
      type: 'lesson_completed',
      score: 50,
      occurredAt: new Date('2026-03-10T11:00:00.000Z'),
      content: { externalId: 'https://lms.example/lesson/1', title: 'https://lms.example/lesson/1', contentType: 'reference' },
    });
    expect(map({ verb: { id: `${ADL}scored` }, result: { score: { raw: 7, min: 0, max: 10 } } })).toMatchObject({ type: 'assessment_submitted', score: 70, occurredAt: STORED });
    expect(map({ verb: { id: 'https://w3id.org/xapi/adl/verbs/logged-in' } })).toMatchObject({ type: 'login', content: null, score: null });
    expect(map({ verb: { id: `${ADL}exited` }, result: { duration: 'P2D' } })).toMatchObject({ type: 'session', durationSeconds: 86_400 });
    expect(map({ verb: { id: `${ADL}suspended` } })).toBeNull();
    expect(map({ verb: { id: `${ADL}experienced` } })).toBeNull();
    expect(map({ object: { objectType: 'StatementRef', id: '8f0c6d5a-1b2c-4d3e-8f4a-5b6c7d8e9f00' } })).toBeNull();
    // A timestamp far in the future does not put the event there.
    expect(map({ timestamp: '2027-01-01T00:00:00Z' })?.occurredAt).toEqual(STORED);
  });

  it('compares statements as xAPI does: display, definition, id and stored are not part of them; the timestamp is an instant', () => {
    const signature = statementSignature(base as never);
    expect(statementSignature({ ...base, verb: { id: `${ADL}completed`, display: { 'en-US': 'done' } }, object: { ...base.object, definition: { name: { en: 'x' } } }, id: 'x', stored: 'y' } as never)).toBe(signature);
    expect(statementSignature({ ...base, timestamp: '2026-03-10T13:00:00+01:00' } as never)).toBe(statementSignature({ ...base, timestamp: '2026-03-10T12:00:00.000Z' } as never));
    expect(statementSignature({ ...base, result: { completion: true } } as never)).not.toBe(signature);
    expect(statementSignature({ ...base, actor: { mbox: 'mailto:bob@school.example' } } as never)).not.toBe(signature);
  });

  it('hashes one fixed serialization (signatures are stored: a statement sent again must compare with the one stored years ago)', () => {
    const statement = {
      actor: { objectType: 'Agent', account: { name: 'learner-7', homePage: 'https://lms.example' } },
      verb: { id: `${ADL}completed`, display: { 'en-US': 'completed' } },
      object: { id: 'https://lms.example/lesson/1', definition: { name: { 'en-US': 'One' } } },
      result: { score: { scaled: 0.5, raw: 5 }, extensions: { 'https://x.example/e': [1, 'two', null, { b: true, a: '\u00e9"' }], 'https://x.example/"q\u00e9': 1 } },
      context: { registration: '8f0c6d5a-1b2c-4d3e-8f4a-5b6c7d8e9f00', contextActivities: { parent: [{ id: 'https://lms.example/course' }] } },
      timestamp: '2026-03-10T13:00:00+01:00',
    };
    // Keys sorted at every level, JSON text for keys and scalars, the timestamp as epoch milliseconds.
    const text =
      '{"actor":{"account":{"homePage":"https://lms.example","name":"learner-7"},"objectType":"Agent"},' +
      '"context":{"contextActivities":{"parent":[{"id":"https://lms.example/course"}]},"registration":"8f0c6d5a-1b2c-4d3e-8f4a-5b6c7d8e9f00"},' +
      '"object":{"id":"https://lms.example/lesson/1"},' +
      '"result":{"extensions":{"https://x.example/\\"q\u00e9":1,"https://x.example/e":[1,"two",null,{"a":"\u00e9\\"","b":true}]},"score":{"raw":5,"scaled":0.5}},' +
      '"timestamp":1773144000000,"verb":"http://adlnet.gov/expapi/verbs/completed"}';
    expect(statementSignature(statement as never)).toBe(createHash('sha256').update(text).digest('hex'));
    // Again, with every key's text now kept from the first time.
    expect(statementSignature(statement as never)).toBe(createHash('sha256').update(text).digest('hex'));
    expect(statementSignature({ ...statement, result: undefined, context: undefined, timestamp: undefined } as never)).toBe(
      createHash('sha256')
        .update('{"actor":{"account":{"homePage":"https://lms.example","name":"learner-7"},"objectType":"Agent"},"context":null,"object":{"id":"https://lms.example/lesson/1"},"result":null,"timestamp":null,"verb":"http://adlnet.gov/expapi/verbs/completed"}')
        .digest('hex'),
    );
  });

  it('sorts keys by UTF-16 code units, in objects of a few keys and of many alike', () => {
    const base = { actor: { mbox: 'mailto:a@school.example' }, verb: { id: `${ADL}completed` }, object: { id: 'https://lms.example/lesson/1' } };
    const sign = (keys: string[]) => statementSignature({ ...base, result: { extensions: Object.fromEntries(keys.map((key, index) => [key, index])) } } as never);
    const expected = (keys: string[], order: string[]) =>
      createHash('sha256')
        .update(
          '{"actor":{"mbox":"mailto:a@school.example"},"context":null,"object":{"id":"https://lms.example/lesson/1"},"result":{"extensions":{' +
            order.map((key) => `${JSON.stringify(key)}:${keys.indexOf(key)}`).join(',') +
            '}},"timestamp":null,"verb":"http://adlnet.gov/expapi/verbs/completed"}',
        )
        .digest('hex');
    const few = ['b', 'B', 'a', '\u00e9', '_', 'Z', 'aa', 'a0'];
    expect(sign(few)).toBe(expected(few, ['B', 'Z', '_', 'a', 'a0', 'aa', 'b', '\u00e9']));
    const many = Array.from({ length: 20 }, (_, index) => `k${19 - index}`);
    const manyOrder = ['k0', 'k1', 'k10', 'k11', 'k12', 'k13', 'k14', 'k15', 'k16', 'k17', 'k18', 'k19', 'k2', 'k3', 'k4', 'k5', 'k6', 'k7', 'k8', 'k9'];
    expect(sign(many)).toBe(expected(many, manyOrder));
  });

  it('accepts the xAPI timestamp and duration forms, and refuses the rest', () => {
    const errors = (extra: Record<string, unknown>) => statementErrors({ ...base, ...extra }, 'statement').map((error) => error.field);
    expect(errors({ timestamp: '2026-03-10T12:00:00.123456Z' })).toEqual([]);
    expect(errors({ timestamp: '2026-03-10T12:00:00+0100' })).toEqual([]);
    expect(errors({ timestamp: '2026-02-30T12:00:00Z' })).toEqual(['statement.timestamp']);
    expect(errors({ result: { duration: 'PT' } })).toEqual(['statement.result.duration']);
    expect(errors({ result: { duration: 'P0003-01-01T00:00:00' } })).toEqual(['statement.result.duration']);
    expect(errors({ result: { score: { raw: 5, min: 10, max: 10 } } })).toEqual(['statement.result.score.min', 'statement.result.score.raw']);
    expect(errors({ context: { registration: 'x', extensions: { 'https://x.example/e': null } } })).toEqual(['statement.context.registration']);
  });

  it('negotiates the highest version within the client’s major', () => {
    expect(['1.0', '1.0.0', '1.0.3', '1.0.9', '2.0.0', '2.0', '1.1.0', ' 1.0.3 ', undefined].map((header) => negotiatedVersion(header))).toEqual([
      '1.0.3',
      '1.0.3',
      '1.0.3',
      '1.0.3',
      '2.0.0',
      null,
      null,
      '1.0.3',
      null,
    ]);
  });
});
