import { ConflictException, Injectable, UnauthorizedException } from '@nestjs/common';
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
import type { MeResponse, SignupRequest, SignupResponse, TokenResponse } from './dto/auth.dto.js';
import { DUMMY_HASH_PROMISE, hashPassword, verifyPassword } from './password-hasher.js';
import type { Principal } from './principal.js';
import type { Role } from '../database/entities/user.entity.js';

const INVALID_CREDENTIALS = 'The e-mail or password is incorrect';

@Injectable()
export class AuthService {
  constructor(
    private readonly config: AppConfig,
    private readonly jwt: JwtService,
    private readonly tx: TenantTransactions,
    private readonly organizations: OrganizationsRepository,
    private readonly users: UsersRepository,
    private readonly auth: AuthRepository,
    private readonly changes: ChangeNotifier,
    private readonly clock: Clock,
  ) {}

  async signup(request: SignupRequest): Promise<SignupResponse> {
    const passwordHash = await hashPassword(request.password);
    const base = slugify(request.organization_name);
    // A taken slug is retried once with a random suffix; a taken e-mail is the caller's 409.
    for (const slug of [base, `${base}-${randomBytes(3).toString('hex')}`]) {
      const organizationId = randomUUID();
      try {
        const result = await this.tx.run(organizationId, async () => {
          const organization = await this.organizations.create(organizationId, { name: request.organization_name, slug });
          const user = await this.users.create(organizationId, { email: request.email, name: request.name, role: 'admin', passwordHash });
          return { organization, user };
        });
        await this.changes.notify(organizationId);
        return { ...result, ...(await this.issueToken(result.user.id, organizationId, 'admin')) };
      } catch (error) {
        const constraint = uniqueViolation(error);
        if (constraint === 'users_email_key') throw new ConflictException('A user with this e-mail already exists');
        if (constraint !== 'organizations_slug_key') throw error;
      }
    }
    throw new ConflictException('Could not find a free organization slug; try another organization name');
  }

  async login(email: string, password: string): Promise<TokenResponse> {
    const record = await this.auth.findLoginByEmail(email);
    // Verify against a dummy hash when the user is unknown so timing does not reveal which e-mails exist.
    const valid = await verifyPassword(password, record?.password_hash ?? (await DUMMY_HASH_PROMISE));
    if (!record || !record.password_hash || !record.is_active || !valid) throw new UnauthorizedException(INVALID_CREDENTIALS);
    const principal = await this.auth.findPrincipal(record.organization_id, record.user_id);
    if (!principal) throw new UnauthorizedException(INVALID_CREDENTIALS);
    await this.auth.recordLogin(record.organization_id, record.user_id, this.clock.date());
    return this.issueToken(record.user_id, record.organization_id, principal.role);
  }

  async me(principal: Principal): Promise<MeResponse> {
    return this.tx.run(principal.organizationId, async () => {
      const [user, organization] = [await this.users.findById(principal.organizationId, principal.userId), await this.organizations.findById(principal.organizationId)];
      if (!user || !organization) throw new UnauthorizedException('The access token is invalid or expired');
      return { user, organization };
    });
  }

  private async issueToken(userId: string, organizationId: string, role: Role): Promise<TokenResponse> {
    const access_token = await this.jwt.signAsync({ sub: userId, org: organizationId, role });
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
