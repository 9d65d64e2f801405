import { Body, Controller, Delete, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, Roles } from '../auth/auth.decorators.js';
import type { Principal } from '../auth/principal.js';
import { uuidPipe } from '../common/uuid.pipe.js';
import { ApiAuthenticationProblems, ApiProblem } from './api-problem.openapi.js';
import { ApiKeysService } from './api-keys.service.js';
import { ApiKeyListResponse, ApiKeyResponse, CreateApiKeyRequest, CreatedApiKeyResponse } from './dto/api-key.dto.js';

/** Only an admin's token: a key never manages keys (no scope allows it). */
@ApiTags('api-keys')
@ApiBearerAuth()
@ApiAuthenticationProblems()
@Roles('admin')
@Controller('api-keys')
export class ApiKeysController {
  constructor(private readonly keys: ApiKeysService) {}

  @Post()
  @ApiOperation({
    summary: 'Create an API key for a platform’s servers',
    description:
      'The response carries the whole key (`tbm_<prefix>_<secret>`) once; only its hash is stored. Use it as `Authorization: Bearer <key>`, ' +
      'or with HTTP Basic (user name = prefix, password = the whole key). Scopes: `events:write` (POST /events, xAPI statements), ' +
      '`metrics:read` (metrics reads and exports), `users:write` (user creation and roster import).',
  })
  @ApiCreatedResponse({ type: CreatedApiKeyResponse })
  @ApiProblem(400, 'Invalid input: every bad field is named in errors')
  create(@CurrentPrincipal() principal: Principal, @Body() body: CreateApiKeyRequest): Promise<CreatedApiKeyResponse> {
    return this.keys.create(principal.organizationId, body);
  }

  @Get()
  @ApiOperation({ summary: 'The organization’s API keys (without secrets)', description: 'Revoked keys are not listed. last_used_at is updated at most once a minute.' })
  @ApiOkResponse({ type: ApiKeyListResponse })
  async list(@CurrentPrincipal() principal: Principal): Promise<ApiKeyListResponse> {
    return { items: (await this.keys.list(principal.organizationId)) as ApiKeyResponse[] };
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Revoke an API key', description: 'The key stops working within 5 seconds on every instance of the service.' })
  @ApiNoContentResponse({ description: 'Revoked' })
  @ApiProblem(400, 'The id is not a UUID')
  @ApiProblem(404, 'No such (unrevoked) API key in this organization')
  revoke(@CurrentPrincipal() principal: Principal, @Param('id', uuidPipe) id: string): Promise<void> {
    return this.keys.revoke(principal.organizationId, id);
  }
}
