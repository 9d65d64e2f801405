import { applyDecorators } from '@nestjs/common';
import { ApiBadRequestResponse, ApiBearerAuth, ApiForbiddenResponse, ApiTooManyRequestsResponse, ApiUnauthorizedResponse } from '@nestjs/swagger';
import { ProblemResponse } from '../errors/problem.dto.js';

const problem = { type: ProblemResponse, content: undefined } as const;

/** The errors every authenticated endpoint can answer, documented once. */
export function ApiAuthenticated() {
  return applyDecorators(
    ApiBearerAuth(),
    ApiUnauthorizedResponse({ description: 'Missing, malformed, expired or wrongly signed token', type: problem.type }),
    ApiForbiddenResponse({ description: 'The caller’s role may not use this endpoint', type: problem.type }),
    ApiTooManyRequestsResponse({ description: 'Rate limit exceeded; see Retry-After', type: problem.type }),
  );
}

export function ApiValidation() {
  return ApiBadRequestResponse({ description: 'Invalid input: every bad field is named in errors', type: problem.type });
}
