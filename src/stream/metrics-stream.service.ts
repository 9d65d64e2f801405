import { ForbiddenException, HttpException, Injectable, Logger, UnauthorizedException } from '@nestjs/common';
import type { Request, Response } from 'express';
import { randomUUID } from 'node:crypto';
import { isApiKeyPrincipal } from '../api-keys/api-key-principal.js';
import type { Caller } from '../auth/principal.js';
import { bearerToken, TokenVerifier } from '../auth/token-verifier.js';
import { AppConfig } from '../config/app-config.js';
import { ServiceUnavailableProblem, TooManyRequestsException } from '../errors/api-errors.js';
import { type EndReason, LiveDashboards, type StreamClient } from './live-dashboards.js';
import { sseEvent, sseRetry } from './sse.js';
import { SLOT_RENEW_MS, StreamSlots } from './stream-slots.js';

/** Clients reconnect after this long when the stream drops. */
export const RECONNECT_MS = 3_000;
/** A client that lets this much pile up unread is dropped rather than buffered without bound. */
const MAX_UNREAD_BYTES = 1 << 20;
/** Events that arrive while the first one is being computed wait for it, up to this many. */
const MAX_QUEUED = 100;

/**
 * Opens one stream: takes a slot, computes the first state through the metrics cache (its own short transaction, over
 * before any byte is streamed), then hands the response to LiveDashboards. Anything that fails before the headers are
 * sent is answered as problem+json like any other request.
 */
@Injectable()
export class MetricsStreamService {
  private readonly logger = new Logger('MetricsStream');

  constructor(
    private readonly live: LiveDashboards,
    private readonly slots: StreamSlots,
    private readonly tokens: TokenVerifier,
    private readonly config: AppConfig,
  ) {}

  async open(principal: Caller, request: Request, response: Response, lastEventId: string | undefined): Promise<void> {
    const { organizationId } = principal;
    const byKey = isApiKeyPrincipal(principal);
    const id = randomUUID();
    if (!(await this.slots.acquire(organizationId, id))) {
      const max = this.config.STREAM_MAX_PER_ORGANIZATION;
      throw new TooManyRequestsException(Math.ceil(SLOT_RENEW_MS / 1000), `This organization already has ${max} open metrics streams, the most allowed; close one first`);
    }
    // An API key (as Bearer or Basic) is re-checked by its record; a user's token by its signature and the user.
    const apiKey = byKey ? (request.headers.authorization ?? null) : null;
    const token = byKey ? null : bearerToken(request.headers.authorization);
    const claims = token === null ? null : (this.tokens.verify(token) as { exp?: number } | null);
    const expiresAt = typeof claims?.exp === 'number' ? claims.exp * 1000 : null;

    let queue: string[] | null = [];
    let closed = false;
    /** Why the stream had to end before its first event was sent: answered as an error instead. */
    let endedEarly: EndReason | null = null;
    let expiry: NodeJS.Timeout | undefined;
    const write = (chunk: string) => {
      if (response.writableLength > MAX_UNREAD_BYTES) {
        this.logger.warn(`Metrics stream ${id} dropped: its client stopped reading`);
        response.destroy();
        return;
      }
      response.write(chunk);
      // Flushes a compression layer, if one is ever put in front: every event must leave at once.
      (response as Response & { flush?: () => void }).flush?.();
    };
    const client: StreamClient = {
      id,
      organizationId,
      userId: byKey ? null : principal.userId,
      token,
      apiKey,
      expiresAt,
      send: (chunk) => {
        if (closed) return;
        if (queue === null) write(chunk);
        else if (queue.length < MAX_QUEUED) queue.push(chunk);
      },
      end: (reason: EndReason) => {
        if (closed) return;
        if (queue !== null) {
          endedEarly = reason;
          return cleanUp();
        }
        write(sseEvent('end', { reason }));
        closed = true;
        response.end();
        cleanUp();
      },
    };
    const cleanUp = () => {
      closed = true;
      clearTimeout(expiry);
      this.live.remove(client);
      void this.slots.release(organizationId, id);
    };

    // Listening before the first state is read: a change made meanwhile is sent after it, never lost.
    this.live.add(client);
    let first;
    try {
      first = await this.live.current(organizationId);
    } catch (error) {
      cleanUp();
      throw error;
    }
    if (endedEarly !== null) throw earlyEnd(endedEarly);
    if (request.destroyed) return cleanUp();
    response.on('close', cleanUp);
    response.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-transform',
      'X-Accel-Buffering': 'no',
      Connection: 'keep-alive',
    });
    response.flushHeaders();
    // HEAD: the headers of a stream, and no stream.
    if (request.method === 'HEAD') {
      response.end();
      return cleanUp();
    }
    // A reconnecting client (Last-Event-ID) needs the same thing as a new one: the latest state, first.
    if (lastEventId !== undefined) this.logger.debug(`Metrics stream ${id} resumes after event ${lastEventId.slice(0, 64)}`);
    write(sseRetry(RECONNECT_MS) + sseEvent('init', first.body, first.id));
    const waiting = queue;
    queue = null;
    for (const chunk of waiting) write(chunk);
    if (expiresAt !== null) expiry = setTimeout(() => client.end('token_expired'), Math.max(0, expiresAt - Date.now()));
  }
}

/** A stream that ended before it started is answered as the request it then was. */
function earlyEnd(reason: EndReason): HttpException {
  if (reason === 'forbidden') return new ForbiddenException('This endpoint is for admin or teacher users');
  if (reason === 'shutdown') return new ServiceUnavailableProblem('The service is shutting down; reconnect');
  return new UnauthorizedException('The access token is invalid or expired');
}
