import { ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { InjectThrottlerOptions, InjectThrottlerStorage, normalizeIp, ThrottlerGuard, type ThrottlerModuleOptions, type ThrottlerRequest } from '@nestjs/throttler';
import type { Request, Response } from 'express';
import { isApiKeyPrincipal } from '../api-keys/api-key-principal.js';
import type { Caller } from '../auth/principal.js';
import { AppConfig } from '../config/app-config.js';
import { routeTemplate } from '../correlation/correlation.middleware.js';
import { apiKeyTracker, budgetKey, ipTracker, spendBudget, userTracker } from './rate-limit-decision.js';
import { DEFAULT_RULE, effectiveLimit, LOGIN_ROUTE, RateLimitRule, ruleFor } from './rate-limit-policy.js';
import { RateLimitStats } from './rate-limit-stats.js';
import { RateLimitStorage } from './rate-limit-storage.js';

type LimitedRequest = Request & { principal?: Caller };

/** "GET /api/v1/metrics/dashboard": the method and the route template, never the raw path. */
export function endpointOf(context: ExecutionContext): string {
  const request = context.switchToHttp().getRequest<Request>();
  // Express answers HEAD with the GET route: same endpoint, same budget (and a HEAD health probe stays unlimited).
  const method = request.method === 'HEAD' ? 'GET' : request.method;
  return `${method} ${routeTemplate(request)}`;
}

/** The rule of a limited endpoint (unlimited ones never get here: shouldSkip lets them through first). */
export function ruleOf(context: ExecutionContext): RateLimitRule {
  return ruleFor(endpointOf(context)) ?? DEFAULT_RULE;
}

/** The one throttler: limit, window and first penalty follow the endpoint's rule and the caller's tier. */
export function throttlerOptions(config: AppConfig): ThrottlerModuleOptions {
  return {
    throttlers: [
      {
        name: 'default',
        limit: (context) => effectiveLimit(ruleOf(context), context.switchToHttp().getRequest<LimitedRequest>().principal?.tier),
        ttl: (context) => ruleOf(context).windowMs,
        blockDuration: config.RATE_LIMIT_PENALTY_SECONDS * 1000,
      },
    ],
  };
}

/**
 * A global guard registered after AuthGuard and RolesGuard, so it sees request.principal: budgets are per
 * user (or API key) and endpoint for authenticated calls, per IP otherwise (login's are LoginLimits'). Sets the
 * X-RateLimit-* headers and answers 429 problem+json with Retry-After.
 */
@Injectable()
export class RateLimitGuard extends ThrottlerGuard {
  constructor(
    @InjectThrottlerOptions() options: ThrottlerModuleOptions,
    @InjectThrottlerStorage() private readonly storage: RateLimitStorage,
    reflector: Reflector,
    private readonly config: AppConfig,
    private readonly stats: RateLimitStats,
  ) {
    super(options, storage, reflector);
  }

  /**
   * A request this guard skips passes synchronously, so Nest awaits nothing for it (the probes, and every route when limits
   * are off). Typed as ThrottlerGuard declares it: Nest's guard consumer takes a plain boolean as it is.
   */
  override canActivate(context: ExecutionContext): Promise<boolean> {
    return (this.skips(context) || super.canActivate(context)) as Promise<boolean>;
  }

  /** ThrottlerGuard's own skip hook: canActivate has already let every skipped request through, so nothing is skipped here. */
  protected override async shouldSkip(): Promise<boolean> {
    return false;
  }

  private skips(context: ExecutionContext): boolean {
    if (!this.config.RATE_LIMIT_ENABLED || context.getType() !== 'http') return true;
    const endpoint = endpointOf(context);
    // Login spends its budgets in LoginLimits, which knows the normalized e-mail and whether the password was right.
    return endpoint === LOGIN_ROUTE || ruleFor(endpoint) === null;
  }

  protected override async getTracker(request: Record<string, any>): Promise<string> {
    const principal = (request as LimitedRequest).principal;
    if (isApiKeyPrincipal(principal)) return apiKeyTracker(principal.organizationId, principal.apiKeyId);
    return principal ? userTracker(principal.organizationId, principal.userId) : ipTracker(normalizeIp(request.ip ?? 'unknown', this.ipv6SubnetPrefix));
  }

  protected override generateKey(context: ExecutionContext, tracker: string): string {
    return budgetKey(tracker, endpointOf(context));
  }

  protected override async handleRequest({ context, limit, ttl, blockDuration, getTracker, generateKey, throttler }: ThrottlerRequest): Promise<boolean> {
    const http = context.switchToHttp();
    const request = http.getRequest<LimitedRequest>();
    const response = http.getResponse<Response>();
    const key = generateKey(context, await getTracker(request, context), throttler.name ?? 'default');
    const decision = await spendBudget(this.storage, this.stats, { key, endpoint: endpointOf(context), limit, windowMs: ttl, blockDurationMs: blockDuration });
    for (const [name, value] of Object.entries(decision.headers)) response.setHeader(name, value);
    if (decision.rejection) throw decision.rejection;
    return true;
  }
}
