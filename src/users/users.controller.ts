import { Body, Controller, Get, Header, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiCreatedResponse, ApiNotFoundResponse, ApiConflictResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, Roles } from '../auth/auth.decorators.js';
import type { Principal } from '../auth/principal.js';
import { ApiAuthenticated, ApiValidation } from '../common/api-errors.decorators.js';
import { uuidPipe } from '../common/uuid.pipe.js';
import { ProblemResponse } from '../errors/problem.dto.js';
import { CreateUserRequest, ListUsersQuery, UpdateUserRequest, UserPageResponse, UserResponse } from './dto/user.dto.js';
import { UsersService } from './users.service.js';

@ApiTags('users')
@ApiAuthenticated()
@Controller('users')
export class UsersController {
  constructor(private readonly users: UsersService) {}

  @Post()
  @Roles('admin')
  @Header('Cache-Control', 'no-store')
  @ApiOperation({ summary: 'Create a user; created_at backfills the real sign-up date of an imported user' })
  @ApiCreatedResponse({ type: UserResponse })
  @ApiValidation()
  @ApiConflictResponse({ description: 'The e-mail is taken', type: ProblemResponse })
  create(@CurrentPrincipal() principal: Principal, @Body() body: CreateUserRequest) {
    return this.users.create(principal.organizationId, body);
  }

  @Get()
  @Roles('admin', 'teacher')
  @Header('Cache-Control', 'no-store')
  @ApiOperation({ summary: 'A page of the organization’s users, newest first' })
  @ApiOkResponse({ type: UserPageResponse })
  @ApiValidation()
  list(@CurrentPrincipal() principal: Principal, @Query() query: ListUsersQuery) {
    return this.users.list(principal.organizationId, query);
  }

  @Patch(':id')
  @Roles('admin')
  @Header('Cache-Control', 'no-store')
  @ApiOperation({
    summary: 'Rename, change role, or (de)activate a user',
    description:
      'A role change or a deactivation ends every token the user was issued before, on every instance (reactivation does not revive them). ' +
      'Demoting or deactivating the organization’s last active admin is refused with 409.',
  })
  @ApiOkResponse({ type: UserResponse })
  @ApiValidation()
  @ApiNotFoundResponse({ type: ProblemResponse })
  @ApiConflictResponse({ description: 'The organization’s last active admin cannot be demoted or deactivated', type: ProblemResponse })
  update(@CurrentPrincipal() principal: Principal, @Param('id', uuidPipe) id: string, @Body() body: UpdateUserRequest) {
    return this.users.update(principal.organizationId, id, body);
  }
}
