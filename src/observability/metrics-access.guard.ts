import { CanActivate, ExecutionContext, Injectable, NotFoundException, UnauthorizedException } from '@nestjs/common';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Request } from 'express';
import { AppConfig } from '../config/app-config.js';

/** GET /metrics: absent when METRICS_ENABLED=false; behind its own bearer token when METRICS_TOKEN is set. */
@Injectable()
export class MetricsAccessGuard implements CanActivate {
  private readonly tokenDigest: Buffer | null;

  constructor(private readonly config: AppConfig) {
    this.tokenDigest = config.METRICS_TOKEN ? digest(config.METRICS_TOKEN) : null;
  }

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<Request>();
    if (!this.config.METRICS_ENABLED) throw new NotFoundException(`Cannot ${request.method} ${request.path}`);
    if (!this.tokenDigest) return true;
    const header = request.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer (\S+)$/.exec(header.trim()) : null;
    // Digests of equal length, so the comparison takes the same time whatever was sent.
    if (!match || !timingSafeEqual(digest(match[1]), this.tokenDigest)) {
      throw new UnauthorizedException('GET /metrics requires the metrics bearer token (METRICS_TOKEN)');
    }
    return true;
  }
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}
