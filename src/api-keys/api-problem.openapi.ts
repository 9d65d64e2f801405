import { applyDecorators } from '@nestjs/common';
import { ApiResponse } from '@nestjs/swagger';

const PROBLEM = { 'application/problem+json': { schema: { $ref: '#/components/schemas/ProblemResponse' } } };

/** One error status of an operation, documented under application/problem+json with the problem schema. */
export const ApiProblem = (status: number, description: string) => ApiResponse({ status, description, content: PROBLEM });

/** The errors of an endpoint that needs a user's token (or an API key where the route allows one). */
export const ApiAuthenticationProblems = () =>
  applyDecorators(
    ApiProblem(401, 'Missing, malformed, expired or revoked credentials'),
    ApiProblem(403, 'The caller’s role or the API key’s scopes do not allow this endpoint'),
  );
