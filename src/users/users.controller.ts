import { Body, Controller, Get, Header, Headers, HttpCode, Param, Patch, Post, Query, UnsupportedMediaTypeException } from '@nestjs/common';
import { ApiCreatedResponse, ApiNotFoundResponse, ApiConflictResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, Roles } from '../auth/auth.decorators.js';
import type { Caller, Principal } from '../auth/principal.js';
import { isApiKeyPrincipal } from '../api-keys/api-key-principal.js';
import { ApiKeyAllowed } from '../api-keys/api-key-scopes.js';
import { ApiAuthenticationProblems, ApiProblem } from '../api-keys/api-problem.openapi.js';
import { ApiAuthenticated, ApiValidation } from '../common/api-errors.decorators.js';
import { uuidPipe } from '../common/uuid.pipe.js';
import { ProblemResponse } from '../errors/problem.dto.js';
import { CreateUserRequest, ListUsersQuery, RosterImportResponse, UpdateUserRequest, UserPageResponse, UserResponse } from './dto/user.dto.js';
import { RosterImportService } from './roster-import.service.js';
import { parseCsvRoster, parseJsonRoster } from './roster-parser.js';
import { UsersService } from './users.service.js';

@ApiTags('users')
@ApiAuthenticated()
@Controller('users')
export class UsersController {
  constructor(
    private readonly users: UsersService,
    private readonly roster: RosterImportService,
  ) {}

  @Post()
  @Roles('admin')
  @Header('Cache-Control', 'no-store')
  @ApiKeyAllowed('users:write')
  @ApiOperation({
    summary: 'Create a user; created_at backfills the real sign-up date of an imported user',
    description: 'An API key (users:write) may create students and teachers, not admins.',
  })
  @ApiCreatedResponse({ type: UserResponse })
  @ApiValidation()
  @ApiConflictResponse({ description: 'The e-mail is taken', type: ProblemResponse })
  create(@CurrentPrincipal() principal: Caller, @Body() body: CreateUserRequest) {
    return this.users.create(principal.organizationId, body, isApiKeyPrincipal(principal));
  }

  @Post('import')
  @HttpCode(200)
  @Roles('admin')
  @ApiKeyAllowed('users:write')
  @ApiOperation({
    summary: 'Import a roster of up to 50,000 users (CSV or JSON), atomically',
    description:
      'CSV (`text/csv`): a header row naming the columns external_id, email, name, role, is_active, created_at (any order; name and one of ' +
      'external_id or email required), then one user per line. JSON: `{"users": [{external_id?, email?, name, role?, is_active?, created_at?}]}`. ' +
      'Each row is matched to a user by external_id, then by e-mail (case-insensitively); matched users are updated with the values given ' +
      '(empty cells keep the stored value), the others created (role student and active unless given). Any bad row → 400 naming every bad row ' +
      '(CSV by line number, the header being line 1; JSON by index) and field, and nothing is written. An API key may not create admins or change roles.',
  })
  @ApiOkResponse({ type: RosterImportResponse })
  @ApiAuthenticationProblems()
  @ApiProblem(400, 'Bad rows, each named with its field (line N.field or users[i].field); nothing was written')
  @ApiProblem(409, 'The import would leave the organization without an active admin')
  @ApiProblem(413, 'The body is larger than IMPORT_BODY_LIMIT_BYTES')
  @ApiProblem(415, 'Neither text/csv nor application/json')
  importRoster(@CurrentPrincipal() principal: Caller, @Headers('content-type') contentType: string | undefined, @Body() body: unknown) {
    const type = (contentType ?? '').split(';')[0].trim().toLowerCase();
    if (type !== 'text/csv' && type !== 'application/json') throw new UnsupportedMediaTypeException('Send the roster as text/csv or application/json');
    const parsed = type === 'text/csv' ? parseCsvRoster(typeof body === 'string' ? body : '') : parseJsonRoster(body);
    return this.roster.import(principal.organizationId, parsed, isApiKeyPrincipal(principal));
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
