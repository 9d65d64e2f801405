import { Injectable } from '@nestjs/common';
import { normalizeIp } from '@nestjs/throttler';
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { Clock } from '../common/clock.js';
import { AppConfig } from '../config/app-config.js';
import { TooManyRequestsException } from '../errors/api-errors.js';
import { budgetKey, ipTracker, spendBudget } from '../rate-limit/rate-limit-decision.js';
import { LOGIN_ROUTE } from '../rate-limit/rate-limit-policy.js';
import { RateLimitStats } from '../rate-limit/rate-limit-stats.js';
import { RateLimitStorage } from '../rate-limit/rate-limit-storage.js';
import { FailureCounters } from './failure-counters.js';

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;
/** Failed logins per client IP and account (the normalized e-mail), a fixed window, no penalty. */
export const LOGIN_PAIR_LIMIT = 5;
/** Login attempts per client IP across every e-mail, with the progressive penalty of every rate limit. */
export const LOGIN_IP_LIMIT = 30;
/** Failed logins per account across every IP by clients without a device token for it. */
export const LOGIN_ACCOUNT_LIMIT = 100;
/** Failed logins per device token (a client that has logged in to the account before). */
export const LOGIN_DEVICE_LIMIT = 5;
/** How long a device token is good for. */
export const DEVICE_TOKEN_TTL_MS = 30 * 24 * HOUR_MS;

export interface LoginClient {
  ip: string;
  /** The device_token of an earlier successful login, if the client kept one. */
  deviceToken?: string;
}

/** What an admitted attempt reserved: given back when the password is right. */
export interface LoginAdmission {
  reserved: string[];
  /** The IP budget this attempt spent, given back too when the password is right. */
  ipKey?: string;
}

/**
 * The failed-login limits. A client that has logged in to an account before holds a device token for it (returned
 * by every successful login); its attempts count against its own budget only (5 failures a minute), so what other
 * clients did — on the same IP or anywhere — never refuses it. Every other attempt spends the IP's budget (30 a
 * minute across e-mails, progressive penalty), and may fail at most 5 times a minute per IP and account and 100
 * times an hour per account; past those it is refused without the password being checked. Every count is reserved
 * before the check and given back when the password is right, so a school's NAT full of successful logins spends
 * nothing, and concurrent attempts cannot slip past a limit between check and count.
 */
@Injectable()
export class LoginLimits {
  private readonly deviceKey: Buffer;

  constructor(
    private readonly config: AppConfig,
    private readonly counters: FailureCounters,
    private readonly storage: RateLimitStorage,
    private readonly stats: RateLimitStats,
    private readonly clock: Clock,
  ) {
    this.deviceKey = createHmac('sha256', config.jwtSecret).update('login device tokens').digest();
  }

  /** Admits one attempt for a normalized e-mail, or throws the 429 that refuses it. */
  async admit(client: LoginClient, email: string, setHeaders: (headers: Record<string, string>) => void): Promise<LoginAdmission> {
    if (!this.config.RATE_LIMIT_ENABLED) return { reserved: [] };
    const account = accountTag(email);
    const device = client.deviceToken ? this.deviceOf(client.deviceToken, account) : null;
    if (device) {
      const key = `{${account}}:device:${device}`;
      await this.reserveOrRefuse([], key, LOGIN_DEVICE_LIMIT, MINUTE_MS, 'Too many failed logins from this device');
      return { reserved: [key] };
    }

    const ip = normalizeIp(client.ip || 'unknown', 64);
    const ipKey = budgetKey(ipTracker(ip), LOGIN_ROUTE);
    const decision = await spendBudget(this.storage, this.stats, {
      key: ipKey,
      endpoint: LOGIN_ROUTE,
      limit: LOGIN_IP_LIMIT,
      windowMs: MINUTE_MS,
      blockDurationMs: this.config.RATE_LIMIT_PENALTY_SECONDS * 1000,
    });
    setHeaders(decision.headers);
    if (decision.rejection) throw decision.rejection;
    const pair = `{${account}}:ip:${ip}`;
    const whole = `{${account}}:all`;
    await this.reserveOrRefuse([], pair, LOGIN_PAIR_LIMIT, MINUTE_MS, 'Too many failed logins for this e-mail from this address');
    await this.reserveOrRefuse(
      [pair],
      whole,
      LOGIN_ACCOUNT_LIMIT,
      HOUR_MS,
      'Too many failed logins for this e-mail; a device that has logged in to it before (device_token) can still log in',
    );
    return { reserved: [pair, whole], ipKey };
  }

  /** The password was right: the attempt was no failure. */
  async succeeded(admission: LoginAdmission): Promise<void> {
    await Promise.all([...admission.reserved.map((key) => this.counters.refund(key)), admission.ipKey ? this.storage.refund(admission.ipKey) : undefined]);
  }

  /** A token binding this client to the account, proof of an earlier successful login. */
  issueDeviceToken(email: string): string {
    const payload = Buffer.from(JSON.stringify({ a: accountTag(email), d: randomBytes(12).toString('base64url'), x: this.clock.now() + DEVICE_TOKEN_TTL_MS })).toString('base64url');
    return `${payload}.${this.sign(payload)}`;
  }

  /** The device id of a well-signed, unexpired device token for this account, else null (treated as no token). */
  private deviceOf(token: string, account: string): string | null {
    const [payload, signature, extra] = token.split('.');
    if (!payload || !signature || extra !== undefined) return null;
    const expected = Buffer.from(this.sign(payload));
    const given = Buffer.from(signature);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return null;
    try {
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { a?: unknown; d?: unknown; x?: unknown };
      return claims.a === account && typeof claims.d === 'string' && typeof claims.x === 'number' && claims.x > this.clock.now() ? claims.d : null;
    } catch {
      return null;
    }
  }

  private sign(payload: string): string {
    return createHmac('sha256', this.deviceKey).update(payload).digest('base64url');
  }

  private async reserveOrRefuse(reserved: string[], key: string, limit: number, windowMs: number, reason: string): Promise<void> {
    const reservation = await this.counters.reserve(key, windowMs);
    if (reservation.count <= limit) return;
    // A refused attempt checks no password: it is no failure of the account's, so its reservations are given back;
    // it still spent the IP's budget (30 attempts a minute across e-mails).
    await Promise.all([...reserved, key].map((reservedKey) => this.counters.refund(reservedKey)));
    this.stats.recordRejection(LOGIN_ROUTE);
    const retryAfter = Math.max(1, Math.ceil((reservation.resetAt - this.clock.now()) / 1000));
    throw new TooManyRequestsException(retryAfter, `${reason}; try again in ${retryAfter} s`);
  }
}

/** The account as it appears in counter keys: a hash of the normalized e-mail (no address is stored in Redis), in braces as a Redis Cluster hash tag. */
function accountTag(email: string): string {
  return `a:${createHash('sha256').update(email).digest('hex').slice(0, 32)}`;
}
