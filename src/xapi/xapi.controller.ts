import { Body, Controller, Get, HttpCode, NotFoundException, Post, Put, Query, Req, Res } from '@nestjs/common';
import { ApiBody, ApiHeader, ApiOkResponse, ApiOperation, ApiQuery, ApiResponse, ApiSecurity, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { CurrentPrincipal, Public, Roles } from '../auth/auth.decorators.js';
import type { ApiKeyPrincipal } from '../api-keys/api-key-principal.js';
import { API_KEY_BASIC_SCHEME, ApiKeyAllowed } from '../api-keys/api-key-scopes.js';
import { ApiProblem } from '../api-keys/api-problem.openapi.js';
import { ValidationFailedException } from '../errors/api-errors.js';
import { STATEMENT_SCHEMA, STORED_STATEMENT_SCHEMA, VERSION_RESPONSE_HEADER } from './dto/xapi.openapi.js';
import { isUuid } from './statement-validator.js';
import { statementsText } from './statements-body.js';
import { MAX_STATEMENTS, StatementSource, XapiService } from './xapi.service.js';
import { XAPI_VERSION_HEADER, XAPI_VERSIONS } from './xapi-versions.js';

const VERSION_HEADER = {
  name: XAPI_VERSION_HEADER,
  required: true,
  description: '1.0.x or 2.0.0',
  schema: { type: 'string', pattern: '^(1\\.0(\\.\\d+)?|2\\.0\\.0)$', example: '1.0.3' },
};

/**
 * A statement sink at /api/v1/xapi/ (point an xAPI client's endpoint here): the statements resource (POST, PUT,
 * GET by id) and about. Statements need an API key with events:write, as HTTP Basic or Bearer.
 */
@ApiTags('xapi')
@Controller('xapi')
export class XapiController {
  constructor(private readonly xapi: XapiService) {}

  @Get('about')
  @Public()
  @ApiOperation({ summary: 'The xAPI versions this endpoint speaks', description: 'No authentication; X-Experience-API-Version is optional here.' })
  @ApiOkResponse({
    headers: VERSION_RESPONSE_HEADER,
    schema: { type: 'object', required: ['version'], properties: { version: { type: 'array', items: { type: 'string' }, example: [...XAPI_VERSIONS] } } },
  })
  about() {
    return { version: [...XAPI_VERSIONS] };
  }

  @Post('statements')
  @HttpCode(200)
  @Roles()
  @ApiKeyAllowed('events:write')
  @ApiSecurity(API_KEY_BASIC_SCHEME)
  @ApiHeader(VERSION_HEADER)
  @ApiOperation({
    summary: `Store one statement or an array of 1–${MAX_STATEMENTS}, atomically`,
    description:
      'Mapped statements become activity events (completed → lesson_completed; passed, failed, scored → assessment_submitted; logged-in → login; ' +
      'terminated, exited, suspended with result.duration → session), the actor and the activity created as learner and content by external id ' +
      '(mailto:…, sha1:…, openid:…, or <homePage>|<name>; the activity id). Other statements are stored without an event. A statement id already ' +
      'stored with an equal statement is accepted again without a second event; with a different statement → 409.',
  })
  @ApiBody({ schema: { oneOf: [STATEMENT_SCHEMA, { type: 'array', minItems: 1, maxItems: MAX_STATEMENTS, items: STATEMENT_SCHEMA }] } })
  @ApiOkResponse({ description: 'The statements’ ids, in order', headers: VERSION_RESPONSE_HEADER, schema: { type: 'array', items: { type: 'string', format: 'uuid' } } })
  @ApiProblem(400, 'An invalid statement (each named with its field), or a missing or unsupported X-Experience-API-Version; nothing was stored')
  @ApiProblem(401, 'Missing or invalid API key')
  @ApiProblem(403, 'The key lacks the events:write scope, or a user’s token was used')
  @ApiProblem(409, 'A different statement is already stored under one of the ids; nothing was stored')
  @ApiProblem(413, 'The body is too large')
  post(@CurrentPrincipal() key: ApiKeyPrincipal, @Req() request: Request, @Body() body: unknown): Promise<string[]> {
    return this.xapi.post(sourceOf(key, request), body, statementsText(request, body));
  }

  @Put('statements')
  @HttpCode(204)
  @Roles()
  @ApiKeyAllowed('events:write')
  @ApiSecurity(API_KEY_BASIC_SCHEME)
  @ApiHeader(VERSION_HEADER)
  @ApiQuery({ name: 'statementId', required: true, schema: { type: 'string', format: 'uuid' } })
  @ApiOperation({ summary: 'Store one statement under statementId', description: 'The same rules as POST; an equal statement already stored is accepted again.' })
  @ApiBody({ schema: STATEMENT_SCHEMA })
  @ApiResponse({ status: 204, description: 'Stored (or already stored, equal)', headers: VERSION_RESPONSE_HEADER })
  @ApiProblem(400, 'An invalid statement or statementId, or a missing or unsupported X-Experience-API-Version; nothing was stored')
  @ApiProblem(401, 'Missing or invalid API key')
  @ApiProblem(403, 'The key lacks the events:write scope, or a user’s token was used')
  @ApiProblem(409, 'A different statement is already stored under this id')
  @ApiProblem(413, 'The body is too large')
  async put(@CurrentPrincipal() key: ApiKeyPrincipal, @Req() request: Request, @Query('statementId') statementId: unknown, @Body() body: unknown): Promise<void> {
    await this.xapi.put(sourceOf(key, request), statementId, body, statementsText(request, body));
  }

  @Get('statements')
  @Roles()
  @ApiKeyAllowed('events:write')
  @ApiSecurity(API_KEY_BASIC_SCHEME)
  @ApiHeader(VERSION_HEADER)
  @ApiQuery({ name: 'statementId', required: true, schema: { type: 'string', format: 'uuid' } })
  @ApiOperation({ summary: 'One stored statement by id, with stored and authority', description: 'Statement queries other than by id are not offered.' })
  @ApiOkResponse({
    headers: { ...VERSION_RESPONSE_HEADER, 'X-Experience-API-Consistent-Through': { description: 'Every statement stored before this time is returned by this resource', schema: { type: 'string', format: 'date-time' } } },
    schema: STORED_STATEMENT_SCHEMA,
  })
  @ApiProblem(400, 'statementId is missing or not a UUID, or X-Experience-API-Version is missing or unsupported')
  @ApiProblem(401, 'Missing or invalid API key')
  @ApiProblem(403, 'The key lacks the events:write scope, or a user’s token was used')
  @ApiProblem(404, 'No statement with this id in the organization')
  async get(@CurrentPrincipal() key: ApiKeyPrincipal, @Query('statementId') statementId: unknown, @Res({ passthrough: true }) response: Response) {
    if (!isUuid(statementId)) throw new ValidationFailedException([{ field: 'statementId', message: 'statementId must be a UUID' }], 'statementId is required');
    const statement = await this.xapi.get(key.organizationId, statementId.toLowerCase());
    if (!statement) throw new NotFoundException('No statement with this id');
    response.setHeader('X-Experience-API-Consistent-Through', new Date().toISOString());
    return statement;
  }
}

function sourceOf(key: ApiKeyPrincipal, request: Request): StatementSource {
  return {
    key,
    authorityHomePage: `${request.protocol}://${request.get('host') ?? 'localhost'}/api/v1/api-keys`,
    version: request.header(XAPI_VERSION_HEADER)?.trim() ?? XAPI_VERSIONS[0],
  };
}

