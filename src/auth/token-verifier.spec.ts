import { JwtService } from '@nestjs/jwt';
import { createSecretKey, randomUUID } from 'node:crypto';
import { bearerToken, TokenVerifier } from './token-verifier';

const secret = createSecretKey(Buffer.from('a-secret-that-is-long-enough-for-hs256-signing'));
const jwt = new JwtService({ secret, signOptions: { algorithm: 'HS256' }, verifyOptions: { algorithms: ['HS256'] } });
const claims = () => ({ sub: randomUUID(), org: randomUUID(), role: 'admin', jti: randomUUID(), ver: 0 });

describe('TokenVerifier', () => {
  afterEach(() => jest.restoreAllMocks());

  it('verifies a token once and checks its expiry on every later use', () => {
    const verifier = new TokenVerifier(jwt);
    const verify = jest.spyOn(jwt, 'verify');
    const token = jwt.sign(claims(), { expiresIn: 10 });
    expect(verifier.verify(token)).toMatchObject({ role: 'admin' });
    expect(verifier.verify(token)).toMatchObject({ role: 'admin' });
    expect(verify).toHaveBeenCalledTimes(1);

    const now = Date.now();
    jest.spyOn(Date, 'now').mockReturnValue(now + 11_000);
    expect(verifier.verify(token)).toBeNull();
  });

  it('refuses what the guard refuses: wrong signature, alg none, ids that are not UUIDs, not yet valid', () => {
    const verifier = new TokenVerifier(jwt);
    const other = new JwtService({ secret: 'another-secret-that-is-long-enough-too!', signOptions: { algorithm: 'HS256' } });
    expect(verifier.verify(other.sign(claims(), { expiresIn: 60 }))).toBeNull();
    const [header, payload] = jwt.sign(claims(), { expiresIn: 60 }).split('.');
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${payload}.`;
    expect([header.length > 0, verifier.verify(none)]).toEqual([true, null]);
    expect(verifier.verify(jwt.sign({ ...claims(), sub: 'someone' }, { expiresIn: 60 }))).toBeNull();
    const future = jwt.sign(claims(), { notBefore: 60, expiresIn: 600 });
    expect(verifier.verify(future)).toBeNull();
  });

  it('refuses tokens that could not be logged out or outdated: no jti, no version, no expiry', () => {
    const verifier = new TokenVerifier(jwt);
    expect(verifier.verify(jwt.sign(claims(), { expiresIn: 60 }))).toMatchObject({ ver: 0 });
    const { jti: _jti, ...withoutId } = claims();
    const { ver: _ver, ...withoutVersion } = claims();
    expect(verifier.verify(jwt.sign(withoutId, { expiresIn: 60 }))).toBeNull();
    expect(verifier.verify(jwt.sign({ ...claims(), jti: 'not-a-uuid' }, { expiresIn: 60 }))).toBeNull();
    expect(verifier.verify(jwt.sign(withoutVersion, { expiresIn: 60 }))).toBeNull();
    expect(verifier.verify(jwt.sign({ ...claims(), ver: '1' }, { expiresIn: 60 }))).toBeNull();
    expect(verifier.verify(jwt.sign(claims()))).toBeNull();
  });

  it("verifies a connection's header once, checks the expiry on every request, and reads each new header afresh", () => {
    const verifier = new TokenVerifier(jwt);
    const verify = jest.spyOn(jwt, 'verify');
    const connection = {};
    const first = claims();
    const firstHeader = `Bearer ${jwt.sign(first, { expiresIn: 10 })}`;
    const second = claims();
    const secondHeader = `Bearer ${jwt.sign(second, { expiresIn: 60 })}`;
    expect(verifier.verifyHeader(firstHeader, connection)).toMatchObject({ sub: first.sub, org: first.org });
    expect(verifier.verifyHeader(`${firstHeader}`, connection)).toMatchObject({ sub: first.sub });
    // Another token on the same connection is its own; the first, back again, is still known.
    expect(verifier.verifyHeader(secondHeader, connection)).toMatchObject({ sub: second.sub, org: second.org });
    expect(verifier.verifyHeader(firstHeader, connection)).toMatchObject({ sub: first.sub });
    expect(verifier.verifyHeader(firstHeader, {})).toMatchObject({ sub: first.sub });
    expect(verify).toHaveBeenCalledTimes(2);

    for (const bad of [undefined, '', 'Basic a.b.c', ['Bearer a.b.c'], `Bearer ${jwt.sign(first, { expiresIn: 10 })}x`]) {
      expect(verifier.verifyHeader(bad, connection)).toBeNull();
      expect(verifier.verifyHeader(firstHeader, connection)).toMatchObject({ sub: first.sub });
    }

    const now = Date.now();
    jest.spyOn(Date, 'now').mockReturnValue(now + 11_000);
    expect(verifier.verifyHeader(firstHeader, connection)).toBeNull();
    expect(verifier.verifyHeader(firstHeader, connection)).toBeNull();
    expect(verifier.verifyHeader(secondHeader, connection)).toMatchObject({ sub: second.sub });
  });

  it('reads a bearer token only from a well-formed header', () => {
    expect(bearerToken('Bearer a.b.c')).toBe('a.b.c');
    expect(bearerToken('  Bearer a.b.c  ')).toBe('a.b.c');
    for (const header of [undefined, '', 'Basic a.b.c', 'Bearer a.b', 'Bearer  a.b.c', 'bearer a.b.c', ['Bearer a.b.c']]) expect(bearerToken(header)).toBeNull();
  });
});
