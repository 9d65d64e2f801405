import type { EntityManager } from 'typeorm';
import { createEventPartition, monthsBetween } from '../partitions/event-partitions.repository.js';
import { BulkWriter, ContentSeedRow, EventSeedRow, UserSeedRow } from './bulk-writer.js';
import { Random } from './random.js';

export interface OrganizationSeedOptions {
  name: string;
  slug: string;
  tier?: string;
  users: number;
  days: number;
  /** The activity rate; or give totalEvents and the rate is derived so that about that many are written. */
  eventsPerUserPerDay?: number;
  totalEvents?: number;
  contentItems: number;
  seed: number;
  now: Date;
  /** The first user, an admin who can log in. */
  admin?: { email: string; name: string; passwordHash: string };
  /** Load events through COPY (needs a real PostgreSQL connection; the seed command's). */
  copy?: boolean;
}

const DAY_MS = 86_400_000;
const FIRST_NAMES = ['Ada', 'Alan', 'Grace', 'Linus', 'Barbara', 'Edsger', 'Margaret', 'Dennis', 'Frances', 'Ken', 'Radia', 'Tim', 'Hedy', 'Niklaus', 'Sophie', 'Yukihiro'];
const LAST_NAMES = ['Lovelace', 'Turing', 'Hopper', 'Torvalds', 'Liskov', 'Dijkstra', 'Hamilton', 'Ritchie', 'Allen', 'Thompson', 'Perlman', 'Berners-Lee', 'Lamarr', 'Wirth', 'Wilson', 'Matsumoto'];
const TOPICS = ['Fractions', 'Photosynthesis', 'World War I', 'Python basics', 'Essay writing', 'Linear equations', 'The water cycle', 'Spanish verbs', 'Statistics', 'Chemistry lab safety'];
const ACTIVITY_TYPES = ['session', 'session', 'lesson_completed', 'lesson_completed', 'assessment_submitted'] as const;
const CONTENT_TYPES = ['lesson', 'lesson', 'lesson', 'quiz', 'quiz', 'exercise', 'project', 'reference'];

/**
 * Builds one organization with users, content and a realistic spread of activity, deterministically
 * from the seed. Rows are written in batches as they are generated, so memory stays flat.
 */
export async function seedOrganization(
  manager: EntityManager,
  options: OrganizationSeedOptions,
  onEvents: (count: number) => void = () => undefined,
): Promise<{ organizationId: string; users: number; content: number; events: number }> {
  const random = new Random(options.seed);
  const writer = new BulkWriter(manager, options.copy === true);
  const eventBatch = options.copy === true ? 50_000 : 5000;
  const organizationId = random.uuid();
  const now = options.now.getTime();
  const windowStart = startOfUtcDay(now) - (options.days - 1) * DAY_MS;

  await manager.query(`INSERT INTO organizations (id, name, slug, tier, created_at) VALUES ($1, $2, $3, $4, $5)`, [
    organizationId,
    options.name,
    options.slug,
    options.tier ?? 'free',
    new Date(windowStart - 60 * DAY_MS),
  ]);

  // Each month of the window gets its partition first, so the bulk load never lands in the default partition.
  for (const month of monthsBetween(new Date(windowStart), new Date(now))) await createEventPartition(manager, month);

  const users: UserSeedRow[] = [];
  for (let i = 0; i < options.users; i++) {
    const isAdmin = i === 0;
    const role = isAdmin ? 'admin' : i % 20 === 1 ? 'teacher' : 'student';
    // Most users predate the window; the rest join during it, so growth and new-user trends have data.
    const createdAt = random.chance(0.7) || isAdmin ? windowStart - random.int(1, 60) * DAY_MS - random.int(0, DAY_MS) : windowStart + random.int(0, now - windowStart);
    const first = random.pick(FIRST_NAMES);
    const last = random.pick(LAST_NAMES);
    users.push({
      id: random.uuid(),
      email: isAdmin && options.admin ? options.admin.email : `${first}.${last}.${i}@${options.slug}.example`.toLowerCase(),
      name: isAdmin && options.admin ? options.admin.name : `${first} ${last}`,
      role,
      passwordHash: isAdmin && options.admin ? options.admin.passwordHash : null,
      createdAt: new Date(Math.min(createdAt, now)),
    });
  }
  for (let i = 0; i < users.length; i += 5000) await writer.users(organizationId, users.slice(i, i + 5000));

  const authors = users.filter((user) => user.role !== 'student');
  const content: ContentSeedRow[] = [];
  for (let i = 0; i < options.contentItems; i++) {
    const createdAt = windowStart - 30 * DAY_MS + random.int(0, now - windowStart + 30 * DAY_MS);
    const roll = random.next();
    const status = roll < 0.7 ? 'published' : roll < 0.9 ? 'draft' : 'archived';
    content.push({
      id: random.uuid(),
      authorId: random.pick(authors).id,
      title: `${random.pick(TOPICS)} ${i + 1}`,
      contentType: random.pick(CONTENT_TYPES),
      status,
      generationTimeMs: random.chance(0.6) ? random.int(800, 45_000) : null,
      createdAt: new Date(createdAt),
      publishedAt: status === 'draft' ? null : new Date(Math.min(now, createdAt + random.int(0, 3 * DAY_MS))),
    });
  }
  for (let i = 0; i < content.length; i += 5000) await writer.content(organizationId, content.slice(i, i + 5000));
  const lessons = content.filter((item) => item.contentType === 'lesson' || item.contentType === 'exercise');
  const quizzes = content.filter((item) => item.contentType === 'quiz' || item.contentType === 'project');

  let buffer: EventSeedRow[] = [];
  let written = 0;
  // One batch is written while the next is generated and readied; a failure surfaces at the next flush.
  let pending: Promise<void> = Promise.resolve();
  const flush = async () => {
    const rows = buffer;
    buffer = [];
    const write = writer.prepareEvents(organizationId, rows);
    await pending;
    pending = write().then(() => {
      written += rows.length;
      onEvents(rows.length);
    });
    pending.catch(() => undefined);
  };
  const rate = options.totalEvents !== undefined ? options.totalEvents / expectedEventsAtRateOne(users, options.days, windowStart, now) : (options.eventsPerUserPerDay ?? 1);
  const whole = Math.floor(rate);
  const fraction = rate - whole;
  for (let day = 0; day < options.days; day++) {
    const dayStart = windowStart + day * DAY_MS;
    const dayFactor = activityFactor(day, options.days, dayStart);
    for (const user of users) {
      const expected = (whole + (random.next() < fraction ? 1 : 0)) * dayFactor;
      const count = Math.floor(expected) + (random.next() < expected - Math.floor(expected) ? 1 : 0);
      if (count === 0) continue;
      const earliest = Math.max(dayStart, user.createdAt.getTime());
      const latest = Math.min(dayStart + DAY_MS - 1, now);
      if (earliest > latest) continue;
      let at = earliest + random.int(0, Math.floor((latest - earliest) / 2));
      for (let k = 0; k < count && at <= latest; k++) {
        // A day often starts with a login; at low rates (one event a day) the other types must still appear.
        const type = k === 0 && random.chance(0.4) ? 'login' : random.pick(ACTIVITY_TYPES);
        buffer.push(seedEvent(random, user.id, type, at, lessons, quizzes));
        at += random.int(60_000, 45 * 60_000);
        if (buffer.length >= eventBatch) await flush();
        // Generating is synchronous: without a turn of the event loop now and then, the batch in flight would sit in
        // this process's socket buffer while the database waits for it (PostgreSQL waited on the client 40 % of the time).
        else if (buffer.length % 2_000 === 0) await new Promise<void>((resolve) => setImmediate(resolve));
      }
    }
  }
  await flush();
  await pending;
  await writer.refreshUserActivity(organizationId);
  return { organizationId, users: users.length, content: content.length, events: written };
}

/** Weekends are quieter, and activity grows a little over the window. */
function activityFactor(day: number, days: number, dayStart: number): number {
  const weekday = new Date(dayStart).getUTCDay();
  return (weekday === 0 || weekday === 6 ? 0.6 : 1.1) * (0.85 + (0.3 * day) / Math.max(1, days - 1));
}

/** Events a rate of one per user per day yields in expectation: the sum of day factors over the days each user exists. */
function expectedEventsAtRateOne(users: UserSeedRow[], days: number, windowStart: number, now: number): number {
  let total = 0;
  for (let day = 0; day < days; day++) {
    const dayStart = windowStart + day * DAY_MS;
    const latest = Math.min(dayStart + DAY_MS - 1, now);
    const factor = activityFactor(day, days, dayStart);
    for (const user of users) if (user.createdAt.getTime() <= latest) total += factor;
  }
  return Math.max(total, 1);
}

export function startOfUtcDay(ms: number): number {
  return Math.floor(ms / DAY_MS) * DAY_MS;
}

/**
 * One generated event of a user at a time: content for lessons and assessments, a duration for sessions, a score
 * for both scored types. The order of the random draws is fixed, so a seeded stream gives the same rows everywhere.
 */
export function seedEvent(random: Random, userId: string, type: string, at: number, lessons: { id: string }[], quizzes: { id: string }[]): EventSeedRow {
  const lesson = type === 'lesson_completed' && lessons.length > 0 ? random.pick(lessons) : null;
  const quiz = type === 'assessment_submitted' && quizzes.length > 0 ? random.pick(quizzes) : null;
  return {
    id: random.uuid(),
    userId,
    type,
    contentId: lesson?.id ?? quiz?.id ?? null,
    occurredAt: new Date(at),
    durationSeconds: type === 'session' ? random.int(120, 3600) : null,
    score: type === 'lesson_completed' ? random.int(55, 100) : type === 'assessment_submitted' ? random.int(30, 100) : null,
  };
}
