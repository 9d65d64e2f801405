import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiCreatedResponse, ApiNoContentResponse, ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, Roles } from '../auth/auth.decorators.js';
import type { Principal } from '../auth/principal.js';
import { ApiAuthenticated, ApiValidation } from '../common/api-errors.decorators.js';
import { uuidPipe } from '../common/uuid.pipe.js';
import { ProblemResponse } from '../errors/problem.dto.js';
import { ContentService } from './content.service.js';
import { ContentPageResponse, ContentResponse, CreateContentRequest, ListContentQuery, UpdateContentRequest } from './dto/content.dto.js';

@ApiTags('content')
@ApiAuthenticated()
@Roles('admin', 'teacher')
@Controller('content')
export class ContentController {
  constructor(private readonly content: ContentService) {}

  @Post()
  @ApiOperation({ summary: 'Create content; created_at backfills the real creation date of imported content' })
  @ApiCreatedResponse({ type: ContentResponse })
  @ApiValidation()
  create(@CurrentPrincipal() principal: Principal, @Body() body: CreateContentRequest) {
    return this.content.create(principal.organizationId, principal.userId, body);
  }

  @Get()
  @ApiOperation({ summary: 'A page of content that is not deleted, newest first' })
  @ApiOkResponse({ type: ContentPageResponse })
  @ApiValidation()
  list(@CurrentPrincipal() principal: Principal, @Query() query: ListContentQuery) {
    return this.content.list(principal.organizationId, query);
  }

  @Patch(':id')
  @ApiOperation({ summary: 'Retitle or change status; publishing sets published_at' })
  @ApiOkResponse({ type: ContentResponse })
  @ApiValidation()
  @ApiNotFoundResponse({ type: ProblemResponse })
  update(@CurrentPrincipal() principal: Principal, @Param('id', uuidPipe) id: string, @Body() body: UpdateContentRequest) {
    return this.content.update(principal.organizationId, id, body);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Soft-delete content (it leaves the counts; its past events stay)' })
  @ApiNoContentResponse()
  @ApiValidation()
  @ApiNotFoundResponse({ type: ProblemResponse })
  remove(@CurrentPrincipal() principal: Principal, @Param('id', uuidPipe) id: string) {
    return this.content.remove(principal.organizationId, id);
  }
}
