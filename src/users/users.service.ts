import { ConflictException, ForbiddenException, Injectable, NotFoundException } from '@nestjs/common';
import { QueryFailedError } from 'typeorm';
import { normalizeEmail } from '../auth/email.js';
import { HashQueue } from '../auth/hash-queue.js';
import { hashPassword } from '../auth/password-hasher.js';
import { RevocationChannel } from '../auth/revocation-channel.js';
import { decodeCursor, Page, toPage } from '../common/pagination.js';
import type { Role } from '../database/entities/user.entity.js';
import { TenantTransactions } from '../database/tenant-transactions.js';
import { ChangeNotifier } from '../tenancy/change-notifier.js';
import type { CreateUserRequest, ListUsersQuery, UpdateUserRequest } from './dto/user.dto.js';
import { UserPatch, UserRow, UsersRepository } from './users.repository.js';

export const LAST_ADMIN_RULE = 'An organization must keep at least one active admin: make another user an admin first';

@Injectable()
export class UsersService {
  constructor(
    private readonly users: UsersRepository,
    private readonly tx: TenantTransactions,
    private readonly hashes: HashQueue,
    private readonly revocations: RevocationChannel,
    private readonly changes: ChangeNotifier,
  ) {}

  /** byApiKey: a key acts on no user's role, so it may not create an admin. */
  async create(organizationId: string, request: CreateUserRequest, byApiKey = false): Promise<UserRow> {
    if (byApiKey && request.role === 'admin') throw new ForbiddenException('An API key may not create admins');
    const password = request.password;
    const passwordHash = password ? await this.hashes.run(() => hashPassword(password)) : null;
    try {
      const user = await this.users.create(organizationId, {
        email: request.email === undefined ? null : normalizeEmail(request.email),
        externalId: request.external_id ?? null,
        name: request.name,
        role: request.role,
        passwordHash,
        createdAt: request.created_at ? new Date(request.created_at) : undefined,
      });
      await this.changes.notify(organizationId);
      return user;
    } catch (error) {
      if (error instanceof QueryFailedError && (error.driverError as { constraint?: string }).constraint === 'users_email_key') {
        throw new ConflictException('A user with this e-mail already exists');
      }
      if (error instanceof QueryFailedError && (error.driverError as { constraint?: string }).constraint === 'users_external_id_key') {
        throw new ConflictException('A user with this external_id already exists in the organization');
      }
      throw error;
    }
  }

  async list(organizationId: string, query: ListUsersQuery): Promise<Page<UserRow>> {
    const rows = await this.users.list(organizationId, { role: query.role, limit: query.limit + 1, after: decodeCursor(query.cursor) });
    return toPage(rows, query.limit);
  }

  async update(organizationId: string, id: string, request: UpdateUserRequest): Promise<UserRow> {
    return this.change(organizationId, id, { name: request.name, role: request.role, isActive: request.is_active });
  }

  async setRole(organizationId: string, id: string, role: Role): Promise<UserRow> {
    return this.change(organizationId, id, { role });
  }

  /** A new password (already checked against the rules); every token issued before stops working. */
  async setPassword(organizationId: string, id: string, password: string): Promise<UserRow> {
    const passwordHash = await this.hashes.run(() => hashPassword(password));
    const user = await this.users.setPasswordHash(organizationId, id, passwordHash);
    if (!user) throw new NotFoundException('No such user in this organization');
    await this.revocations.principalChanged(organizationId, id);
    return user;
  }

  /** Any change of a user; demoting or deactivating the organization's last active admin is refused (409). */
  private async change(organizationId: string, id: string, patch: UserPatch): Promise<UserRow> {
    const removesAdmin = (patch.role !== undefined && patch.role !== 'admin') || patch.isActive === false;
    const user = await this.tx.run(organizationId, async () => {
      if (removesAdmin) {
        await this.users.lockAdmins(organizationId);
        const current = await this.users.findById(organizationId, id);
        if (current?.role === 'admin' && current.is_active && (await this.users.countOtherActiveAdmins(organizationId, id)) === 0) {
          throw new ConflictException(LAST_ADMIN_RULE);
        }
      }
      return this.users.update(organizationId, id, patch);
    });
    if (!user) throw new NotFoundException('No such user in this organization');
    // Every instance forgets what it cached about the user (its role, its active state, its token version).
    await this.revocations.principalChanged(organizationId, id);
    await this.changes.notify(organizationId);
    return user;
  }
}
