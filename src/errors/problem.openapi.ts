import type { OpenAPIObject } from '@nestjs/swagger';

const PROBLEM = { 'application/problem+json': { schema: { $ref: '#/components/schemas/ProblemResponse' } } };

/**
 * The server-side errors any operation can answer, documented once instead of on every controller:
 * 500 (no stack or SQL in the body) everywhere, 503 wherever the database is on the path.
 */
export function documentServerErrors(document: OpenAPIObject): void {
  for (const [path, operations] of Object.entries(document.paths)) {
    const touchesDatabase = path.startsWith('/api/') || path === '/health/ready';
    for (const operation of Object.values(operations) as { responses?: Record<string, unknown> }[]) {
      if (!operation?.responses) continue;
      operation.responses['500'] ??= { description: 'Unexpected error; quote correlation_id when reporting it', content: PROBLEM };
      if (touchesDatabase) operation.responses['503'] ??= { description: 'The database is unreachable; try again shortly', content: PROBLEM };
    }
  }
}
