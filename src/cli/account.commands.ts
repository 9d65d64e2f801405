import { ConflictException } from '@nestjs/common';
import { randomBytes, randomUUID } from 'node:crypto';
import { QueryFailedError } from 'typeorm';
import { AuthRepository } from '../auth/auth.repository.js';
import { slugify } from '../auth/auth.service.js';
import { isValidEmail, normalizeEmail } from '../auth/email.js';
import { HashQueue } from '../auth/hash-queue.js';
import { hashPassword } from '../auth/password-hasher.js';
import { passwordProblem } from '../auth/password-policy.js';
import { ROLES, type Role } from '../database/entities/user.entity.js';
import { TenantTransactions } from '../database/tenant-transactions.js';
import { OrganizationsRepository } from '../organizations/organizations.repository.js';
import { UsersRepository } from '../users/users.repository.js';
import { UsersService } from '../users/users.service.js';
import { CliError } from './cli-error.js';

/** What the account commands need from the application context. */
export interface AccountServices {
  tx: TenantTransactions;
  organizations: OrganizationsRepository;
  users: UsersRepository;
  usersService: UsersService;
  auth: AuthRepository;
  hashes: HashQueue;
}

/** A password of 24 random characters (144 bits), for when the operator does not give one. */
export function generatePassword(): string {
  return randomBytes(18).toString('base64url');
}

function checkedEmail(email: string): string {
  const normalized = normalizeEmail(email);
  if (!isValidEmail(normalized)) throw new CliError(`"${email}" is not a valid e-mail address`);
  return normalized;
}

function checkedPassword(password: string): string {
  const problem = passwordProblem(password);
  if (problem) throw new CliError(problem);
  return password;
}

/** org:create: a new organization (free tier) with its first admin. */
export async function createOrganization(services: AccountServices, name: string, adminEmail: string, adminName: string, password: string) {
  const trimmed = name.trim();
  if (trimmed.length < 1 || trimmed.length > 200) throw new CliError('The organization name must be 1 to 200 characters long');
  const email = checkedEmail(adminEmail);
  const admin = adminName.trim();
  if (admin.length < 1 || admin.length > 200) throw new CliError("The admin's name must be 1 to 200 characters long");
  const passwordHash = await services.hashes.run(() => hashPassword(checkedPassword(password)));
  const base = slugify(trimmed);
  for (const slug of [base, `${base}-${randomBytes(3).toString('hex')}`]) {
    const organizationId = randomUUID();
    try {
      return await services.tx.run(organizationId, async () => {
        const organization = await services.organizations.create(organizationId, { name: trimmed, slug });
        const user = await services.users.create(organizationId, { email, name: admin, role: 'admin', passwordHash });
        return { organization, user };
      });
    } catch (error) {
      const constraint = error instanceof QueryFailedError ? (error.driverError as { constraint?: string }).constraint : undefined;
      if (constraint === 'users_email_key') throw new CliError(`A user with the e-mail ${email} already exists`);
      if (constraint !== 'organizations_slug_key') throw error;
    }
  }
  throw new CliError('Could not find a free organization slug; try another organization name');
}

async function findUser(services: AccountServices, email: string) {
  const record = await services.auth.findLoginByEmail(checkedEmail(email));
  if (!record) throw new CliError(`No user with the e-mail ${normalizeEmail(email)}`);
  return record;
}

/** user:set-role: any role, under the same last-admin rule as the API. */
export async function setUserRole(services: AccountServices, email: string, role: string) {
  if (!(ROLES as readonly string[]).includes(role)) throw new CliError(`Invalid role "${role}": allowed values are ${ROLES.join(', ')}`);
  const record = await findUser(services, email);
  try {
    return await services.usersService.setRole(record.organization_id, record.user_id, role as Role);
  } catch (error) {
    if (error instanceof ConflictException) throw new CliError(error.message);
    throw error;
  }
}

/** user:set-password: a new password under the password rules; the user's earlier tokens stop working. */
export async function setUserPassword(services: AccountServices, email: string, password: string) {
  const record = await findUser(services, email);
  return services.usersService.setPassword(record.organization_id, record.user_id, checkedPassword(password));
}
