import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { DataSource, EntityManager } from 'typeorm';
import { hashPassword } from '../auth/password-hasher.js';
import { Clock } from '../common/clock.js';
import { AppConfig } from '../config/app-config.js';
import { BulkWriter } from '../seed/bulk-writer.js';
import { seedOrganization, startOfUtcDay } from '../seed/organization-generator.js';
import { demoActivity, DemoContent, DemoUser } from './demo-activity.js';

export interface DemoStatus {
  organizationSlug: string;
  email: string;
  /** Set only on the start that created the demo: the password is stored hashed and never shown again. */
  password: string | null;
  /** Events added on this start, up to the moment of start-up. */
  eventsAdded: number;
}

export const DEMO_EMAIL = 'admin@demo.toolbox-metrics.example';
export const DEMO_SLUG = 'demo';
const DAY_MS = 86_400_000;
const DEMO_DAYS = 28;

/**
 * On a fresh database, a demo organization with four weeks of activity up to the moment of start-up; on every later
 * start, the activity of the time since the previous one (at most the last four weeks), so its dashboard stays current.
 */
@Injectable()
export class DemoData implements OnApplicationBootstrap {
  private readonly logger = new Logger('DemoData');
  status: DemoStatus | null = null;

  constructor(
    private readonly config: AppConfig,
    private readonly dataSource: DataSource,
    private readonly clock: Clock,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (!this.config.demoData) return;
    // Runs as the owning connection user, before any request: a platform operation, not a tenant one.
    const [demo]: { id: string }[] = await this.dataSource.query(`SELECT id FROM organizations WHERE slug = $1`, [DEMO_SLUG]);
    if (demo) {
      const eventsAdded = await this.dataSource.transaction((manager) => this.topUp(manager, demo.id));
      if (eventsAdded > 0) this.logger.log(`Demo organization: added ${eventsAdded} events of the time since the last start`);
      this.status = { organizationSlug: DEMO_SLUG, email: DEMO_EMAIL, password: null, eventsAdded };
      return;
    }
    const [{ count }]: { count: number }[] = await this.dataSource.query(`SELECT count(*)::int AS count FROM organizations`);
    // A database with organizations of its own gets no demo beside them.
    if (count > 0) return;
    const password = randomBytes(9).toString('base64url');
    const started = Date.now();
    const now = this.clock.date();
    const seed = Number(this.clock.now() % 2 ** 31);
    const result = await this.dataSource.transaction(async (manager) => {
      const created = await seedOrganization(manager, {
        name: 'Demo Academy',
        slug: DEMO_SLUG,
        tier: 'premium',
        users: 60,
        days: DEMO_DAYS,
        // The users and content only: the activity comes hour by hour from the demo's own generator below.
        eventsPerUserPerDay: 0,
        contentItems: 40,
        seed,
        now,
        admin: { email: DEMO_EMAIL, name: 'Demo Admin', passwordHash: await hashPassword(password) },
      });
      const from = startOfUtcDay(now.getTime()) - (DEMO_DAYS - 1) * DAY_MS;
      await manager.query(`INSERT INTO demo_activity (organization_id, seed, generated_until) VALUES ($1, $2, $3)`, [created.organizationId, seed, new Date(from)]);
      return { ...created, events: await this.topUp(manager, created.organizationId) };
    });
    this.logger.log(`Demo organization created: ${result.users} users, ${result.content} content items, ${result.events} events in ${Date.now() - started} ms`);
    this.status = { organizationSlug: DEMO_SLUG, email: DEMO_EMAIL, password, eventsAdded: result.events };
  }

  /** Writes the demo's activity from where the last start left it up to now; returns how many events it added. */
  private async topUp(manager: EntityManager, organizationId: string): Promise<number> {
    const now = this.clock.now();
    const [state]: { seed: number; generated_until: Date }[] = await manager.query(
      `SELECT seed, generated_until FROM demo_activity WHERE organization_id = $1 FOR UPDATE`,
      [organizationId],
    );
    // A demo created before the top-ups existed continues from its last event.
    const [{ last }]: { last: Date | null }[] = state ? [{ last: state.generated_until }] : await manager.query(`SELECT max(occurred_at) AS last FROM activity_events WHERE organization_id = $1`, [organizationId]);
    const seed = state?.seed ?? Number(now % 2 ** 31);
    // After a long pause only the last four weeks are filled: the dashboard's windows reach no further back.
    const from = Math.max(last?.getTime() ?? 0, startOfUtcDay(now) - (DEMO_DAYS - 1) * DAY_MS);
    if (from >= now) return 0;
    const users: DemoUser[] = (await manager.query(`SELECT id, created_at FROM users WHERE organization_id = $1 AND is_active ORDER BY id`, [organizationId])).map(
      (row: { id: string; created_at: Date }) => ({ id: row.id, createdAt: row.created_at }),
    );
    const content: DemoContent[] = (
      await manager.query(`SELECT id, content_type FROM educational_content WHERE organization_id = $1 AND deleted_at IS NULL ORDER BY id`, [organizationId])
    ).map((row: { id: string; content_type: string }) => ({ id: row.id, contentType: row.content_type }));
    const rows = demoActivity(seed, users, content, from, now);
    const writer = new BulkWriter(manager);
    for (let i = 0; i < rows.length; i += 5000) await writer.events(organizationId, rows.slice(i, i + 5000));
    await writer.refreshUserActivity(organizationId);
    await manager.query(
      `INSERT INTO demo_activity (organization_id, seed, generated_until) VALUES ($1, $2, $3)
       ON CONFLICT (organization_id) DO UPDATE SET generated_until = EXCLUDED.generated_until`,
      [organizationId, seed, new Date(now)],
    );
    return rows.length;
  }
}
