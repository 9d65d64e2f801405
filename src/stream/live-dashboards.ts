import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { AsyncResource } from 'node:async_hooks';
import { Counter, Gauge } from 'prom-client';
import { ApiKeyAuthenticator } from '../api-keys/api-key-authenticator.js';
import { PrincipalCache } from '../auth/principal-cache.js';
import { Authenticator } from '../auth/authenticator.js';
import { normalizeQuery } from '../cache/cache-keys.js';
import { GenerationChannel } from '../cache/generation-channel.js';
import { MetricsCache } from '../cache/metrics-cache.js';
import { API_PREFIX } from '../common/api-prefix.js';
import { AppConfig } from '../config/app-config.js';
import type { Role } from '../database/entities/user.entity.js';
import { DASHBOARD_CACHE } from '../metrics/metrics.controller.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { PrometheusExporter } from '../observability/prometheus-exporter.js';
import { ActivityChannel, type ActivitySummary } from './activity-channel.js';
import { sseComment, sseEvent } from './sse.js';
import { SLOT_RENEW_MS, StreamSlots } from './stream-slots.js';

/** At most one recomputation of an organization's dashboard per second on each instance, however many writes. */
export const MIN_REFRESH_INTERVAL_MS = 1_000;
const DASHBOARD_ROUTE = `/${API_PREFIX}/metrics/dashboard`;
export const STREAM_ROLES: Role[] = ['admin', 'teacher'];
/** API-key streams are checked this often, against key records at most API_KEY_STREAM_MAX_AGE_MS old: a revocation on any instance ends them within the sum. */
export const API_KEY_STREAM_CHECK_MS = 1_000;
export const API_KEY_STREAM_MAX_AGE_MS = 3_000;

/** Why a stream ended, sent in its last event. */
export type EndReason = 'token_expired' | 'token_revoked' | 'forbidden' | 'shutdown';

/** One open stream, as the feed sees it. */
export interface StreamClient {
  readonly id: string;
  readonly organizationId: string;
  /** The user of a token stream; null for an API key. */
  readonly userId: string | null;
  /** The bearer JWT the stream was opened with, checked again while it is open; null for an API key. */
  readonly token: string | null;
  /** The Authorization header of an API-key stream, checked again while it is open; null for a user's token. */
  readonly apiKey: string | null;
  /** When the token expires (ms since the epoch), if it does. */
  readonly expiresAt: number | null;
  send(chunk: string): void;
  end(reason: EndReason): void;
}

export interface DashboardState {
  /** The event id: the instant the figures were computed (ms), the same on every instance for the same cached entry. */
  id: string;
  body: Record<string, unknown>;
}

interface OrganizationFeed {
  clients: Set<StreamClient>;
  timer?: NodeJS.Timeout;
  running: boolean;
  /** A change arrived during a recomputation: run again after it. */
  again: boolean;
  lastStart: number;
}

/**
 * The live side of the dashboard. An organization's figures change exactly when its cache generation moves (the cache's
 * generation channel, heard from every instance through Redis), so on a move this instance recomputes the dashboard once
 * through the metrics cache — at most once a second per organization, however many of its streams are open here — and
 * sends the same bytes to each. Batch summaries come from the ActivityChannel. While nothing changes an open stream
 * costs no database work: heartbeats, token checks (in memory) and slot renewals (Redis) only.
 */
@Injectable()
export class LiveDashboards implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('MetricsStream');
  private readonly feeds = new Map<string, OrganizationFeed>();
  /** Timers and recomputations run here, never in the context (transaction, log ids) of the request that caused them. */
  private readonly scope = new AsyncResource('LiveDashboards');
  private readonly timers: NodeJS.Timeout[] = [];
  /** The channel's epoch when this instance last knew it had heard every move. */
  private heardEpoch: number;
  /** An API-key check is under way: the next tick does not start another. */
  private checkingKeys = false;
  /** Dashboard recomputations made for streams (tests and the benchmark read it). */
  recomputations = 0;

  constructor(
    private readonly channel: GenerationChannel,
    private readonly activity: ActivityChannel,
    private readonly cache: MetricsCache,
    private readonly metrics: MetricsService,
    private readonly slots: StreamSlots,
    private readonly authenticator: Authenticator,
    private readonly principals: PrincipalCache,
    private readonly apiKeys: ApiKeyAuthenticator,
    private readonly config: AppConfig,
    prometheus: PrometheusExporter,
  ) {
    this.heardEpoch = channel.epoch;
    // A logout or a user change anywhere is checked at once, not at the next periodic check.
    authenticator.onRevocation(() => this.checkTokens());
    const live = this;
    new Gauge({
      name: 'toolbox_metrics_streams_open',
      help: 'Metrics streams (GET /api/v1/metrics/stream) open on this instance',
      registers: [prometheus.registry],
      collect() {
        this.set(live.openStreams);
      },
    });
    new Counter({
      name: 'toolbox_metrics_stream_recomputations_total',
      help: 'Dashboard recomputations made for open streams on this instance',
      registers: [prometheus.registry],
      collect() {
        this.reset();
        this.inc(live.recomputations);
      },
    });
  }

  onModuleInit(): void {
    this.channel.listen({ moved: (organizationId) => this.changed(organizationId) });
    this.activity.listen((summary) => this.announce(summary));
    this.scope.runInAsyncScope(() => {
      const every = (ms: number, work: () => void) => this.timers.push(setInterval(work, ms).unref());
      every(this.config.STREAM_HEARTBEAT_SECONDS * 1000, () => this.broadcastAll(sseComment('heartbeat')));
      every(this.config.STREAM_AUTH_CHECK_SECONDS * 1000, () => {
        this.checkTokens();
        this.catchUp();
      });
      every(SLOT_RENEW_MS, () => void this.slots.renew());
      every(API_KEY_STREAM_CHECK_MS, () => void this.checkApiKeys());
    });
  }

  /** Ends every stream, so that a shutdown's wait for open connections is not a wait for streams. */
  onModuleDestroy(): void {
    for (const timer of this.timers) clearInterval(timer);
    for (const feed of this.feeds.values()) {
      clearTimeout(feed.timer);
      for (const client of [...feed.clients]) client.end('shutdown');
    }
  }

  get openStreams(): number {
    let count = 0;
    for (const feed of this.feeds.values()) count += feed.clients.size;
    return count;
  }

  add(client: StreamClient): void {
    const feed = this.feeds.get(client.organizationId) ?? { clients: new Set<StreamClient>(), running: false, again: false, lastStart: 0 };
    feed.clients.add(client);
    this.feeds.set(client.organizationId, feed);
  }

  remove(client: StreamClient): void {
    const feed = this.feeds.get(client.organizationId);
    if (!feed?.clients.delete(client) || feed.clients.size > 0) return;
    clearTimeout(feed.timer);
    this.feeds.delete(client.organizationId);
  }

  /** The dashboard as GET /metrics/dashboard answers it, through the same cache entry. */
  async current(organizationId: string): Promise<DashboardState> {
    const body = await this.cache.serve(
      {
        organizationId,
        route: DASHBOARD_ROUTE,
        normalizedQuery: normalizeQuery({}, DASHBOARD_CACHE.queryDefaults) as string,
        ttlSeconds: DASHBOARD_CACHE.ttlSeconds,
        forceRefresh: false,
      },
      async () => (await this.metrics.dashboard(organizationId)) as unknown as Record<string, unknown>,
    );
    const metadata = body.cache_metadata as { generated_at: string };
    return { id: String(Date.parse(metadata.generated_at)), body };
  }

  private changed(organizationId: string): void {
    const feed = this.feeds.get(organizationId);
    if (feed) this.schedule(organizationId, feed);
  }

  private schedule(organizationId: string, feed: OrganizationFeed): void {
    if (feed.running) {
      feed.again = true;
      return;
    }
    if (feed.timer) return;
    const wait = Math.max(0, feed.lastStart + MIN_REFRESH_INTERVAL_MS - Date.now());
    feed.timer = this.scope.runInAsyncScope(() => setTimeout(() => void this.refresh(organizationId, feed), wait));
  }

  private async refresh(organizationId: string, feed: OrganizationFeed): Promise<void> {
    feed.timer = undefined;
    if (this.feeds.get(organizationId) !== feed) return;
    feed.running = true;
    feed.lastStart = Date.now();
    this.recomputations++;
    try {
      const [state] = await Promise.all([this.current(organizationId), this.checkPrincipals(feed)]);
      const chunk = sseEvent('dashboard', state.body, state.id);
      for (const client of feed.clients) client.send(chunk);
    } catch (error) {
      // The next change tries again; the streams stay open.
      this.logger.warn(`Live dashboard of ${organizationId} not recomputed: ${(error as Error).message}`);
    } finally {
      feed.running = false;
      if (feed.again) {
        feed.again = false;
        this.schedule(organizationId, feed);
      }
    }
  }

  private announce(summary: ActivitySummary): void {
    const feed = this.feeds.get(summary.organization_id);
    if (!feed) return;
    const chunk = sseEvent('activity', summary);
    for (const client of feed.clients) client.send(chunk);
  }

  private broadcastAll(chunk: string): void {
    for (const feed of this.feeds.values()) for (const client of feed.clients) client.send(chunk);
  }

  /**
   * In memory, every few seconds and on every revocation anywhere (Authenticator.onRevocation): a token that expired,
   * was logged out or is outdated (Authenticator.peek, the auth guard's rules without I/O), or a user this instance
   * already knows to be gone or no longer allowed, ends its stream.
   */
  private checkTokens(): void {
    for (const feed of this.feeds.values()) {
      for (const client of [...feed.clients]) {
        // A key's stream is re-checked against the key's record instead (checkApiKeys).
        if (client.token === null || client.userId === null) continue;
        const principal = this.authenticator.peek(client.token);
        if (principal === null) client.end(client.expiresAt !== null && client.expiresAt <= Date.now() ? 'token_expired' : 'token_revoked');
        else if (principal && !STREAM_ROLES.includes(principal.role)) client.end('forbidden');
      }
    }
  }

  /**
   * On a change of the organization (deactivations and role changes are writes too), its streaming users are read
   * afresh, on every instance at once instead of when the principal cache would expire.
   */
  private async checkPrincipals(feed: OrganizationFeed): Promise<void> {
    const users = new Map<string, StreamClient[]>();
    for (const client of feed.clients) if (client.token !== null && client.userId !== null) users.set(client.userId, [...(users.get(client.userId) ?? []), client]);
    for (const [userId, clients] of users) {
      const organizationId = clients[0].organizationId;
      this.principals.forget(organizationId, userId);
      for (const client of clients) {
        // The whole rule, token version included: a role or password change ends the tokens issued before it.
        const authenticated = await this.authenticator.authenticate(client.token!);
        if (!authenticated) client.end('token_revoked');
        else if (!STREAM_ROLES.includes(authenticated.principal.role)) client.end('forbidden');
      }
    }
  }

  /**
   * A key revoked on any instance is only known from its record (no message between instances), so API-key streams
   * read it again every few seconds: one indexed query per open key, shared by all of its streams on this instance.
   */
  private async checkApiKeys(): Promise<void> {
    if (this.checkingKeys) return;
    const keys = new Map<string, StreamClient[]>();
    for (const feed of this.feeds.values()) {
      for (const client of feed.clients) if (client.apiKey !== null) keys.set(client.apiKey, [...(keys.get(client.apiKey) ?? []), client]);
    }
    if (keys.size === 0) return;
    this.checkingKeys = true;
    try {
      for (const [header, clients] of keys) {
        let status: 'active' | 'revoked' | 'expired';
        try {
          status = await this.apiKeys.status(header, API_KEY_STREAM_MAX_AGE_MS);
        } catch (error) {
          // The database is out of reach: the key is judged at the next tick; its streams stay open meanwhile.
          this.logger.warn(`API-key streams not checked: ${(error as Error).message}`);
          continue;
        }
        if (status === 'active') continue;
        for (const client of clients) client.end(status === 'expired' ? 'token_expired' : 'token_revoked');
      }
    } finally {
      this.checkingKeys = false;
    }
  }

  /** After the channel was lost, moves may have been missed: once it is live again, every open feed recomputes. */
  private catchUp(): void {
    if (!this.channel.live || this.channel.epoch === this.heardEpoch) return;
    this.heardEpoch = this.channel.epoch;
    for (const [organizationId, feed] of this.feeds) this.schedule(organizationId, feed);
  }
}
