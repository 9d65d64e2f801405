import type { OpenAPIObject } from '@nestjs/swagger';
import { ROSTER_COLUMNS, MAX_ROSTER_ROWS } from '../users/roster-parser.js';
import { API_KEY_BASIC_SCHEME, API_KEY_BEARER_SCHEME } from './api-key-scopes.js';

const ROSTER_EXAMPLE = 'external_id,email,name,role,is_active,created_at\nlms-1001,ada@school.example,Ada Lovelace,student,true,2025-09-01T08:00:00Z\nlms-1002,,Alan Turing,,,\n';

/**
 * What decorators cannot say: the API-key security schemes, and the roster import's two request bodies (CSV text
 * and a JSON object), documented after the document is built.
 */
export function documentIntegration(document: OpenAPIObject): void {
  document.components ??= {};
  document.components.securitySchemes = {
    ...document.components.securitySchemes,
    [API_KEY_BEARER_SCHEME]: {
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'tbm_<prefix>_<secret>',
      description: 'An organization’s API key (POST /api/v1/api-keys) as a bearer token. It may call the routes its scopes name.',
    },
    [API_KEY_BASIC_SCHEME]: {
      type: 'http',
      scheme: 'basic',
      description: 'An API key as HTTP Basic, the way xAPI clients authenticate: user name = the key’s prefix, password = the whole key.',
    },
  };

  const importOperation = document.paths['/api/v1/users/import']?.post;
  if (importOperation) {
    const row = {
      type: 'object',
      additionalProperties: false,
      required: ['name'],
      properties: {
        external_id: { type: 'string', nullable: true, minLength: 1, maxLength: 255 },
        email: { type: 'string', nullable: true, format: 'email', maxLength: 254 },
        name: { type: 'string', minLength: 1, maxLength: 200 },
        role: { type: 'string', nullable: true, enum: ['admin', 'teacher', 'student', null] },
        is_active: { type: 'boolean', nullable: true },
        created_at: { type: 'string', nullable: true, format: 'date-time' },
      },
    };
    importOperation.requestBody = {
      required: true,
      content: {
        'text/csv': {
          schema: { type: 'string', description: `A header row (columns ${ROSTER_COLUMNS.join(', ')}), then up to ${MAX_ROSTER_ROWS} rows` },
          example: ROSTER_EXAMPLE,
        },
        'application/json': {
          schema: {
            type: 'object',
            additionalProperties: false,
            required: ['users'],
            properties: { users: { type: 'array', minItems: 1, maxItems: MAX_ROSTER_ROWS, items: row } },
          },
        },
      },
    } as never;
  }
}
