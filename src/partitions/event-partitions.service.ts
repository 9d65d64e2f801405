import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { Clock } from '../common/clock.js';
import { AppConfig } from '../config/app-config.js';
import { EventPartitionsRepository, monthsBetween } from './event-partitions.repository.js';

/** Partitions exist this many months ahead of the current one, so ingestion never waits for DDL. */
export const MONTHS_AHEAD = 3;
const MAINTENANCE_INTERVAL_MS = 60 * 60 * 1000;
const DAY_MS = 86_400_000;

export interface PartitionMaintenance {
  created: string[];
  dropped: string[];
}

/**
 * Keeps activity_events' monthly partitions: at start-up and every hour it creates the current month and the next
 * MONTHS_AHEAD, moves rows that landed in the default partition (imports of old months) into their month, and with
 * EVENT_RETENTION_DAYS drops the months that ended before the retention. Instances running it together are safe:
 * each step is idempotent and runs in its own transaction.
 */
@Injectable()
export class EventPartitionsService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('EventPartitions');
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly partitions: EventPartitionsRepository,
    private readonly config: AppConfig,
    private readonly clock: Clock,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.runLogged();
    this.timer = setInterval(() => void this.runLogged(), MAINTENANCE_INTERVAL_MS);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  /** One pass at `now`; what it created and dropped. */
  async maintain(now: Date = this.clock.date()): Promise<PartitionMaintenance> {
    const created: string[] = [];
    const ahead = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + MONTHS_AHEAD, 1));
    const wanted = [...new Set([...(await this.partitions.monthsInDefault()), ...monthsBetween(now, ahead)])];
    for (const month of wanted) if (await this.partitions.createMonth(month)) created.push(month);
    const dropped = this.config.EVENT_RETENTION_DAYS === undefined ? [] : await this.partitions.dropBefore(new Date(now.getTime() - this.config.EVENT_RETENTION_DAYS * DAY_MS));
    if (created.length > 0 || dropped.length > 0) this.logger.log({ msg: 'activity_events partitions maintained', created, dropped });
    return { created, dropped };
  }

  private runLogged(): Promise<unknown> {
    this.running = this.maintain().catch((error: unknown) => this.logger.error({ msg: 'partition maintenance failed; retried within the hour', err: error }));
    return this.running;
  }
}
