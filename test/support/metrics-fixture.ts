import { randomUUID } from 'node:crypto';
import { RollupsRepository } from '../../src/rollups/rollups.repository';
import type { TestApp } from './test-app';
import { signup, SignedUp, uniqueEmail, userWithRole } from './factories';

/** The fixed instant every metrics spec pins its ManualClock to: a Friday afternoon, 15:30 UTC. */
export const NOW = new Date('2026-11-20T15:30:00.000Z');
export const at = (iso: string) => new Date(iso);
const DAY_MS = 86_400_000;
export const daysAgo = (days: number) => new Date(NOW.getTime() - days * DAY_MS);

export interface FixtureUser {
  key: string;
  name: string;
  createdAt: Date;
  isActive?: boolean;
}

export interface FixtureContent {
  key: string;
  title: string;
  type: 'lesson' | 'quiz' | 'exercise' | 'project' | 'reference';
  status: 'draft' | 'published' | 'archived';
  generationMs: number | null;
  createdAt: Date;
  deletedAt?: Date;
}

export interface FixtureEvent {
  key: string;
  user: string;
  type: 'login' | 'session' | 'lesson_completed' | 'assessment_submitted';
  at: Date;
  content?: string;
  durationSeconds?: number;
  score?: number;
}

export interface FixtureOrganization {
  admin: SignedUp;
  teacher: { id: string; token: string };
  organizationId: string;
  slug: string;
  /** Ids by fixture key (users, content and events). */
  ids: Record<string, string>;
}

/**
 * An organization with exactly the given users, content and events, inserted through the owner
 * connection so that created_at and occurred_at are what the test says. The admin (signed up) and the
 * teacher (created and logged in through the API) are backdated too; the tier is enterprise so that the
 * rate limits of a pinned clock never get in the way. The rollups are rebuilt from the raw rows at the end.
 */
export async function buildOrganization(
  testApp: TestApp,
  data: {
    name?: string;
    adminCreatedAt: Date;
    teacherCreatedAt: Date;
    users: FixtureUser[];
    content: FixtureContent[];
    events: FixtureEvent[];
  },
): Promise<FixtureOrganization> {
  const db = testApp.dataSource;
  const admin = await signup(testApp, data.name ? { organization_name: data.name } : {});
  const organizationId = admin.organization.id;
  await db.query(`UPDATE organizations SET tier = 'enterprise' WHERE id = $1`, [organizationId]);
  const teacher = await userWithRole(testApp, admin, 'teacher');
  await db.query(`UPDATE users SET created_at = $3 WHERE organization_id = $1 AND id = $2`, [organizationId, admin.user.id, data.adminCreatedAt]);
  await db.query(`UPDATE users SET created_at = $3 WHERE organization_id = $1 AND id = $2`, [organizationId, teacher.id, data.teacherCreatedAt]);

  const ids: Record<string, string> = { admin: admin.user.id, teacher: teacher.id };
  for (const user of data.users) {
    ids[user.key] = randomUUID();
    await db.query(
      `INSERT INTO users (organization_id, id, email, name, role, is_active, created_at) VALUES ($1, $2, $3, $4, 'student', $5, $6)`,
      [organizationId, ids[user.key], uniqueEmail(user.key), user.name, user.isActive ?? true, user.createdAt],
    );
  }
  for (const item of data.content) {
    ids[item.key] = randomUUID();
    await db.query(
      `INSERT INTO educational_content (organization_id, id, author_id, title, content_type, status, generation_time_ms, created_at, published_at, deleted_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, CASE WHEN $6 = 'published' THEN $8::timestamptz END, $9)`,
      [organizationId, ids[item.key], admin.user.id, item.title, item.type, item.status, item.generationMs, item.createdAt, item.deletedAt ?? null],
    );
  }
  for (const event of data.events) {
    ids[event.key] = randomUUID();
    await db.query(
      `INSERT INTO activity_events (organization_id, id, user_id, type, content_id, occurred_at, duration_seconds, score, received_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $6)`,
      [organizationId, ids[event.key], ids[event.user], event.type, event.content ? ids[event.content] : null, event.at, event.durationSeconds ?? null, event.score ?? null],
    );
  }
  // Triggers keep the rollups; a rebuild from the raw rows keeps the fixture independent of how they are kept.
  await testApp.get(RollupsRepository).rebuild(organizationId);
  return { admin, teacher: { id: teacher.id, token: teacher.token }, organizationId, slug: admin.organization.slug, ids };
}

/**
 * Organization A of the metrics specs. Every expected figure in test/metrics*.spec.ts is worked out
 * by hand from these rows (NOW = 2026-11-20T15:30Z, today = 2026-11-20, the last 7 days = 11-14..11-20).
 */
export function organizationA(name = 'Metrics Academy') {
  return {
    name,
    adminCreatedAt: daysAgo(40), // 2026-10-11T15:30Z
    teacherCreatedAt: daysAgo(10), // 2026-11-10T15:30Z
    users: [
      { key: 'u0', name: 'Old Learner', createdAt: daysAgo(100) }, // 2026-08-12
      { key: 'u1', name: 'Ada', createdAt: daysAgo(40) },
      { key: 'u2', name: 'Ben', createdAt: daysAgo(40) },
      { key: 'u3', name: 'Cy', createdAt: daysAgo(10) },
      { key: 'u4', name: 'Dee', createdAt: daysAgo(3) }, // 2026-11-17T15:30Z
      { key: 'u5', name: 'Eve', createdAt: at('2026-11-20T08:00:00Z') },
      { key: 'u6', name: 'Fay', createdAt: daysAgo(10), isActive: false },
    ],
    content: [
      { key: 'c1', title: 'Fractions', type: 'lesson', status: 'published', generationMs: 1200, createdAt: daysAgo(5) },
      { key: 'c2', title: 'Decimals quiz', type: 'quiz', status: 'draft', generationMs: 3400, createdAt: at('2026-11-20T09:00:00Z') },
      { key: 'c3', title: 'Ratios drill', type: 'exercise', status: 'archived', generationMs: null, createdAt: daysAgo(20) },
      { key: 'c4', title: 'Budget project', type: 'project', status: 'published', generationMs: 800, createdAt: daysAgo(45) },
      { key: 'c5', title: 'Old glossary', type: 'reference', status: 'draft', generationMs: 2000, createdAt: daysAgo(2), deletedAt: daysAgo(1) },
      { key: 'c6', title: 'Geometry', type: 'lesson', status: 'published', generationMs: null, createdAt: at('2026-11-20T10:00:00Z') },
    ] as FixtureContent[],
    events: [
      { key: 'e1', user: 'u1', type: 'session', at: at('2026-11-20T09:00:00Z'), durationSeconds: 1800 },
      { key: 'e2', user: 'u1', type: 'lesson_completed', at: at('2026-11-20T09:40:00Z'), content: 'c1', score: 80 },
      { key: 'e3', user: 'u3', type: 'assessment_submitted', at: at('2026-11-20T10:15:00Z'), content: 'c2', score: 90 },
      { key: 'e4', user: 'u5', type: 'login', at: at('2026-11-20T14:00:00Z') },
      { key: 'e5', user: 'u3', type: 'lesson_completed', at: at('2026-11-20T15:00:00Z'), content: 'c6', score: 70 },
      { key: 'e6', user: 'u4', type: 'session', at: at('2026-11-19T20:00:00Z'), durationSeconds: 600 },
      { key: 'e7', user: 'u4', type: 'lesson_completed', at: at('2026-11-19T20:30:00Z'), content: 'c1', score: 100 },
      { key: 'e8', user: 'u1', type: 'assessment_submitted', at: at('2026-11-19T11:00:00Z'), score: 60 },
      { key: 'e9', user: 'u3', type: 'session', at: at('2026-11-17T12:00:00Z'), durationSeconds: 2400 },
      { key: 'e10', user: 'u3', type: 'lesson_completed', at: at('2026-11-17T12:45:00Z'), content: 'c1' },
      { key: 'e11', user: 'u1', type: 'login', at: at('2026-11-14T08:00:00Z') },
      { key: 'e12', user: 'u3', type: 'session', at: at('2026-11-13T10:00:00Z'), durationSeconds: 1200 },
      { key: 'e13', user: 'u3', type: 'assessment_submitted', at: at('2026-11-13T10:30:00Z'), score: 75 },
      { key: 'e14', user: 'u1', type: 'lesson_completed', at: at('2026-11-01T09:00:00Z'), content: 'c4', score: 85 },
      { key: 'e15', user: 'u1', type: 'session', at: at('2026-10-25T10:00:00Z'), durationSeconds: 1500 },
      { key: 'e16', user: 'u2', type: 'login', at: at('2026-10-15T10:00:00Z') },
      { key: 'e17', user: 'u1', type: 'assessment_submitted', at: at('2026-10-12T10:00:00Z'), score: 50 },
      { key: 'e18', user: 'u0', type: 'lesson_completed', at: at('2026-09-01T10:00:00Z'), score: 40 },
      // Two minutes after NOW (ingestion allows 5 minutes of clock skew): no figure may count it yet.
      { key: 'e19', user: 'u5', type: 'login', at: at('2026-11-20T15:32:00Z') },
    ] as FixtureEvent[],
  };
}

/** Organization B: busy where A is quiet, so any leak into A's figures shows. */
export function organizationB() {
  return {
    name: 'Other School',
    adminCreatedAt: daysAgo(5),
    teacherCreatedAt: daysAgo(5),
    users: [
      { key: 'b1', name: 'Bo', createdAt: at('2026-11-20T01:00:00Z') },
      { key: 'b2', name: 'Bea', createdAt: daysAgo(60) },
    ],
    content: [{ key: 'bc1', title: 'Other lesson', type: 'lesson', status: 'published', generationMs: 9000, createdAt: at('2026-11-20T02:00:00Z') }] as FixtureContent[],
    events: [
      { key: 'b-e1', user: 'b1', type: 'lesson_completed', at: at('2026-11-20T03:00:00Z'), content: 'bc1', score: 10 },
      { key: 'b-e2', user: 'b1', type: 'lesson_completed', at: at('2026-11-20T04:00:00Z'), content: 'bc1', score: 20 },
      { key: 'b-e3', user: 'b1', type: 'lesson_completed', at: at('2026-11-20T05:00:00Z'), content: 'bc1', score: 30 },
      { key: 'b-e4', user: 'b1', type: 'session', at: at('2026-11-20T06:00:00Z'), durationSeconds: 3600 },
      { key: 'b-e5', user: 'b2', type: 'assessment_submitted', at: at('2026-11-18T06:00:00Z'), score: 20 },
      { key: 'b-e6', user: 'b2', type: 'session', at: at('2026-11-16T06:00:00Z'), durationSeconds: 300 },
    ] as FixtureEvent[],
  };
}

/** A small RFC 4180 reader for the exported CSV (quoted fields, doubled quotes, CRLF or LF). */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (quoted) {
      if (char === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (char === '"') quoted = false;
      else field += char;
    } else if (char === '"') quoted = true;
    else if (char === ',') {
      row.push(field);
      field = '';
    } else if (char === '\n' || char === '\r') {
      if (char === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += char;
  }
  if (field !== '' || row.length > 0) rows.push([...row, field]);
  return rows;
}
