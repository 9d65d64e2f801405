import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';
import { hashPassword } from '../auth/password-hasher.js';
import { Clock } from '../common/clock.js';
import { AppConfig } from '../config/app-config.js';
import { seedOrganization } from '../seed/organization-generator.js';

export interface DemoCredentials {
  organizationSlug: string;
  email: string;
  password: string;
}

export const DEMO_EMAIL = 'admin@demo.toolbox-metrics.example';

/** On a fresh embedded database, a demo organization with four weeks of activity to explore. */
@Injectable()
export class DemoData implements OnApplicationBootstrap {
  private readonly logger = new Logger('DemoData');
  createdCredentials: DemoCredentials | null = null;

  constructor(
    private readonly config: AppConfig,
    private readonly dataSource: DataSource,
    private readonly clock: Clock,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (!this.config.demoData) return;
    // Runs as the owning connection user, before any request: a platform operation, not a tenant one.
    const [{ count }]: { count: number }[] = await this.dataSource.query(`SELECT count(*)::int AS count FROM organizations`);
    if (count > 0) return;
    const password = randomBytes(9).toString('base64url');
    const started = Date.now();
    const result = await this.dataSource.transaction(async (manager) =>
      seedOrganization(manager, {
        name: 'Demo Academy',
        slug: 'demo',
        tier: 'premium',
        users: 60,
        days: 28,
        // Below one event a user a day, so daily activity varies by user and weekday as real classes do.
        eventsPerUserPerDay: 0.8,
        contentItems: 40,
        seed: Number(this.clock.now() % 2 ** 31),
        now: this.clock.date(),
        admin: { email: DEMO_EMAIL, name: 'Demo Admin', passwordHash: await hashPassword(password) },
      }),
    );
    this.logger.log(`Demo organization created: ${result.users} users, ${result.content} content items, ${result.events} events in ${Date.now() - started} ms`);
    this.createdCredentials = { organizationSlug: 'demo', email: DEMO_EMAIL, password };
  }
}
