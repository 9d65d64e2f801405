import { ConflictException, ForbiddenException, Injectable, NotFoundException } from '@nestjs/common';
import { QueryFailedError } from 'typeorm';
import { PrincipalCache } from '../auth/principal-cache.js';
import { hashPassword } from '../auth/password-hasher.js';
import { decodeCursor, Page, toPage } from '../common/pagination.js';
import { ChangeNotifier } from '../tenancy/change-notifier.js';
import type { CreateUserRequest, ListUsersQuery, UpdateUserRequest } from './dto/user.dto.js';
import { UserRow, UsersRepository } from './users.repository.js';

@Injectable()
export class UsersService {
  constructor(
    private readonly users: UsersRepository,
    private readonly principals: PrincipalCache,
    private readonly changes: ChangeNotifier,
  ) {}

  /** byApiKey: a key acts on no user's role, so it may not create an admin. */
  async create(organizationId: string, request: CreateUserRequest, byApiKey = false): Promise<UserRow> {
    if (byApiKey && request.role === 'admin') throw new ForbiddenException('An API key may not create admins');
    const passwordHash = request.password ? await hashPassword(request.password) : null;
    try {
      const user = await this.users.create(organizationId, {
        email: request.email ?? null,
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
    const user = await this.users.update(organizationId, id, { name: request.name, role: request.role, isActive: request.is_active });
    if (!user) throw new NotFoundException('No such user in this organization');
    this.principals.forget(organizationId, id);
    await this.changes.notify(organizationId);
    return user;
  }
}
