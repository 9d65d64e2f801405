import { ConflictException, Injectable, OnModuleInit, UnauthorizedException } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { randomBytes, randomUUID } from 'node:crypto';
import { QueryFailedError } from 'typeorm';
import { Clock } from '../common/clock.js';
import { AppConfig } from '../config/app-config.js';
import { TenantTransactions } from '../database/tenant-transactions.js';
import { OrganizationsRepository } from '../organizations/organizations.repository.js';
import { UsersRepository } from '../users/users.repository.js';
import { ChangeNotifier } from '../tenancy/change-notifier.js';
import { AuthRepository } from './auth.repository.js';
import type { LoginResponse, MeResponse, SignupRequest, SignupResponse, TokenResponse } from './dto/auth.dto.js';
import { isValidEmail, normalizeEmail } from './email.js';
import { HashQueue } from './hash-queue.js';
import { type LoginClient, LoginLimits } from './login-limits.js';
import { ServiceUnavailableProblem } from '../errors/api-errors.js';
import { dummyHash, hashPassword, needsRehash, verifyPassword } from './password-hasher.js';
import type { Principal } from './principal.js';
import { RevocationChannel } from './revocation-channel.js';
import type { Role } from '../database/entities/user.entity.js';

const INVALID_CREDENTIALS = 'The e-mail or password is incorrect';

@Injectable()
export class AuthService implements OnModuleInit {
  constructor(
    private readonly config: AppConfig,
    private readonly jwt: JwtService,
    private readonly tx: TenantTransactions,
    private readonly organizations: OrganizationsRepository,
    private readonly users: UsersRepository,
    private readonly auth: AuthRepository,
    private readonly changes: ChangeNotifier,
    private readonly clock: Clock,
    private readonly hashes: HashQueue,
    private readonly limits: LoginLimits,
    private readonly revocations: RevocationChannel,
  ) {}

  onModuleInit(): void {
    // Made at start-up, so the first unknown e-mail does not pay for it.
    void dummyHash();
  }

  async signup(request: SignupRequest): Promise<SignupResponse> {
    const email = normalizeEmail(request.email);
    const passwordHash = await this.hashes.run(() => hashPassword(request.password));
    const base = slugify(request.organization_name);
    // A taken slug is retried once with a random suffix; a taken e-mail is the caller's 409.
    for (const slug of [base, `${base}-${randomBytes(3).toString('hex')}`]) {
      const organizationId = randomUUID();
      try {
        const result = await this.tx.run(organizationId, async () => {
          const organization = await this.organizations.create(organizationId, { name: request.organization_name, slug });
          const user = await this.users.create(organizationId, { email, name: request.name, role: 'admin', passwordHash });
          return { organization, user };
        });
        await this.changes.notify(organizationId);
        return { ...result, ...(await this.issueToken(result.user.id, organizationId, 'admin', 0)) };
      } catch (error) {
        const constraint = uniqueViolation(error);
        if (constraint === 'users_email_key') throw new ConflictException('A user with this e-mail already exists');
        if (constraint !== 'organizations_slug_key') throw error;
      }
    }
    throw new ConflictException('Could not find a free organization slug; try another organization name');
  }

  /**
   * One login attempt: the limits first (a refused attempt checks no password), then one password check through the
   * bounded hash queue, against a dummy hash when the e-mail is unknown or not an address at all (same time, same 401).
   */
  async login(rawEmail: string, password: string, client: LoginClient, setHeaders: (headers: Record<string, string>) => void): Promise<LoginResponse> {
    const email = normalizeEmail(rawEmail);
    const admission = await this.limits.admit(client, email, setHeaders);
    let succeeded = false;
    try {
      const record = isValidEmail(email) ? await this.auth.findLoginByEmail(email) : null;
      const stored = record?.password_hash ?? null;
      const valid = await this.hashes.run(async () => verifyPassword(password, stored ?? (await dummyHash())));
      if (!record || !stored || !record.is_active || !valid) throw new UnauthorizedException(INVALID_CREDENTIALS);
      const principal = await this.auth.findPrincipal(record.organization_id, record.user_id);
      if (!principal) throw new UnauthorizedException(INVALID_CREDENTIALS);
      succeeded = true;
      if (needsRehash(stored)) {
        // Best effort: a full hash queue must not refuse a correct password; the next login upgrades it.
        const upgraded = await this.hashes.run(() => hashPassword(password)).catch((error: unknown) => {
          if (error instanceof ServiceUnavailableProblem) return null;
          throw error;
        });
        if (upgraded) await this.auth.upgradePasswordHash(record.organization_id, record.user_id, stored, upgraded);
      }
      await this.auth.recordLogin(record.organization_id, record.user_id, this.clock.date());
      // The version read with the password hash: a password changed since then makes this token outdated at once.
      const token = await this.issueToken(record.user_id, record.organization_id, principal.role, record.token_version);
      return { ...token, device_token: this.limits.issueDeviceToken(email) };
    } catch (error) {
      // Only a wrong e-mail or password is a failure; an outage (503) or a full hash queue is not the client's.
      if (!(error instanceof UnauthorizedException)) succeeded = true;
      throw error;
    } finally {
      if (succeeded) await this.limits.succeeded(admission);
    }
  }

  /** Revokes the token of this request on every instance. */
  async logout(token: { id: string; expiresAt: number }): Promise<void> {
    await this.revocations.revokeToken(token.id, token.expiresAt);
  }

  async me(principal: Principal): Promise<MeResponse> {
    return this.tx.run(principal.organizationId, async () => {
      const [user, organization] = [await this.users.findById(principal.organizationId, principal.userId), await this.organizations.findById(principal.organizationId)];
      if (!user || !organization) throw new UnauthorizedException('The access token is invalid or expired');
      return { user, organization };
    });
  }

  private async issueToken(userId: string, organizationId: string, role: Role, tokenVersion: number): Promise<TokenResponse> {
    const access_token = await this.jwt.signAsync({ sub: userId, org: organizationId, role, ver: tokenVersion }, { jwtid: randomUUID() });
    return { access_token, token_type: 'Bearer', expires_in: this.config.JWT_TTL };
  }
}

export function slugify(name: string): string {
  const slug = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 60)
    .replace(/-+$/g, '');
  return slug || 'organization';
}

function uniqueViolation(error: unknown): string | null {
  if (!(error instanceof QueryFailedError)) return null;
  const driverError = error.driverError as { code?: string; constraint?: string };
  return driverError.code === '23505' ? (driverError.constraint ?? 'unknown') : null;
}
