import { applyDecorators, SetMetadata } from '@nestjs/common';
import { ApiSecurity } from '@nestjs/swagger';

export const API_KEY_SCOPES = ['events:write', 'metrics:read', 'users:write'] as const;
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];

export const API_KEY_SCOPE = 'api-keys:scope';
/** The OpenAPI security scheme names of an API key: as a bearer token, and as HTTP Basic (xAPI clients). */
export const API_KEY_BEARER_SCHEME = 'api_key';
export const API_KEY_BASIC_SCHEME = 'api_key_basic';

/** An API key holding this scope may call the route (besides the roles that @Roles admits); keys without it get 403. */
export const ApiKeyAllowed = (scope: ApiKeyScope) => applyDecorators(SetMetadata(API_KEY_SCOPE, scope), ApiSecurity(API_KEY_BEARER_SCHEME));
