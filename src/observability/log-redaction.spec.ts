import { Writable } from 'node:stream';
import { createLogger } from './logger';
import { redactSecrets, scrubSecrets, serializeError } from './log-redaction';

const JWT = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl';

function capture(): { lines: () => Record<string, unknown>[]; stream: Writable } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString();
      done();
    },
  });
  return { stream, lines: () => text.split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>) };
}

describe('log redaction', () => {
  it('scrubs bearer credentials and JWTs out of free text', () => {
    expect(scrubSecrets(`header was Bearer ${JWT}; cookie ${JWT}`)).toBe('header was Bearer [REDACTED]; cookie [REDACTED]');
    expect(scrubSecrets('Basic dXNlcjpwYXNz rejected')).toBe('Basic [REDACTED] rejected');
    expect(scrubSecrets('nothing secret here')).toBe('nothing secret here');
  });

  it('serializes an error with type, message and stack, secrets scrubbed from both', () => {
    const serialized = serializeError(new TypeError(`bad token ${JWT}`)) as { type: string; message: string; stack: string };
    expect(serialized.type).toBe('TypeError');
    expect(serialized.message).toBe('bad token [REDACTED]');
    expect(serialized.stack.split('\n')[0]).toBe('TypeError: bad token [REDACTED]');
    expect(serializeError('not an error')).toBe('not an error');
  });

  it('censors secret keys in any case, inside arrays and errors, and leaves clean objects untouched', () => {
    const failure = Object.assign(new Error('refused'), { config: { headers: { Authorization: `Bearer ${JWT}`, Accept: 'json' } } });
    expect(redactSecrets({ users: [{ Password: 'x', name: 'a' }], failure, missing: null, token: null })).toEqual({
      users: [{ Password: '[REDACTED]', name: 'a' }],
      failure: { type: 'Error', message: 'refused', stack: expect.stringMatching(/^Error: refused\n/), config: { headers: { Authorization: '[REDACTED]', Accept: 'json' } } },
      missing: null,
      token: null,
    });
    const queryFailed = Object.assign(new Error('duplicate key'), { query: 'INSERT INTO users (email, password_hash) VALUES ($1, $2)', parameters: ['a@b.test', 'scrypt$hash'] });
    expect(redactSecrets({ err: queryFailed })).toMatchObject({ err: { query: 'INSERT INTO users (email, password_hash) VALUES ($1, $2)', parameters: '[REDACTED]' } });
    const clean = { route: '/api/v1/users/:id', status: 200, nested: { list: [1, 'two'] } };
    expect(redactSecrets(clean)).toBe(clean);
  });

  it('redacts secret keys at every depth a request, body or error reaches, and secrets in messages', () => {
    const sink = capture();
    const logger = createLogger({ level: 'info', serviceName: 'svc', destination: sink.stream });
    logger.info(
      {
        password: 'p1',
        req: { headers: { authorization: `Bearer ${JWT}`, cookie: 'sid=1', 'set-cookie': ['sid=2'], accept: 'json' } },
        body: { user: { credentials: { password: 'p2', access_token: JWT, name: 'kept' } } },
      },
      `login with Bearer ${JWT}`,
    );
    const [line] = sink.lines();
    expect(line).toMatchObject({
      msg: 'login with Bearer [REDACTED]',
      password: '[REDACTED]',
      req: { headers: { authorization: '[REDACTED]', cookie: '[REDACTED]', 'set-cookie': '[REDACTED]', accept: 'json' } },
      body: { user: { credentials: { password: '[REDACTED]', access_token: '[REDACTED]', name: 'kept' } } },
    });
    expect(JSON.stringify(line)).not.toContain(JWT);
  });
});
