import type { OpenAPIObject } from '@nestjs/swagger';
import { LOGIN_ROUTE, RateLimitRule, ruleFor, TIER_MULTIPLIERS } from './rate-limit-policy.js';

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

const BUDGET_HEADERS = {
  'X-RateLimit-Limit': { description: 'Requests allowed in the current window (tier included)', schema: { type: 'integer' } },
  'X-RateLimit-Remaining': { description: 'Requests left in the current window', schema: { type: 'integer' } },
  'X-RateLimit-Reset': { description: 'Unix time in seconds when the window resets (or the block ends)', schema: { type: 'integer' } },
};

const RETRY_AFTER = { 'Retry-After': { description: 'Seconds until a request will be accepted again', schema: { type: 'integer' } } };

/** Documents each operation's limit, the budget headers on its 2xx responses and its 429, from the same table the guard uses. */
export function documentRateLimits(document: OpenAPIObject): void {
  for (const [path, item] of Object.entries(document.paths)) {
    for (const method of METHODS) {
      const operation = item[method];
      if (!operation) continue;
      const endpoint = `${method.toUpperCase()} ${path.replace(/\{([^}]+)\}/g, ':$1')}`;
      const rule = ruleFor(endpoint);
      if (!rule) {
        delete operation.responses['429'];
        continue;
      }
      const subject = endpoint === LOGIN_ROUTE ? 'client IP address across e-mails' : operation.security?.length ? 'user' : 'IP address';
      operation.description = [operation.description, describe(rule, subject)].filter(Boolean).join('\n\n');
      for (const [status, response] of Object.entries(operation.responses)) {
        if (status.startsWith('2') && response && !('$ref' in response)) response.headers = { ...BUDGET_HEADERS, ...response.headers };
      }
      operation.responses['429'] = {
        description: 'Rate limit exceeded, or still blocked after exceeding it; retry_after in the body',
        headers: { ...RETRY_AFTER, ...BUDGET_HEADERS },
        content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/ProblemResponse' } } },
      };
    }
  }
}

function describe(rule: RateLimitRule, subject: string): string {
  const window = rule.windowMs === 3_600_000 ? 'an hour' : 'a minute';
  const tiers = rule.tierScaled
    ? `, times the organization's tier (${Object.entries(TIER_MULTIPLIERS)
        .map(([tier, multiplier]) => `${tier} ×${multiplier}`)
        .join(', ')})`
    : ' on every tier';
  return (
    `**Rate limit:** ${rule.limit} requests ${window} per ${subject}${tiers}. ` +
    'The k-th excess within 24 h blocks this endpoint for RATE_LIMIT_PENALTY_SECONDS × 2^(k−1) (at most 24 h, and at least until the window resets).'
  );
}
