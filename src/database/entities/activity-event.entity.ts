import { Column, Entity, PrimaryColumn } from 'typeorm';

export const EVENT_TYPES = ['login', 'session', 'lesson_completed', 'assessment_submitted'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

@Entity('activity_events')
export class ActivityEventEntity {
  @PrimaryColumn('uuid', { name: 'organization_id' })
  organizationId: string;

  @PrimaryColumn('uuid')
  id: string;

  @Column('uuid', { name: 'user_id' })
  userId: string;

  @Column('text')
  type: EventType;

  @Column('uuid', { name: 'content_id', nullable: true })
  contentId: string | null;

  // Part of the key: the table is partitioned by month of occurred_at (ids stay unique per organization through activity_event_ids).
  @PrimaryColumn('timestamptz', { name: 'occurred_at' })
  occurredAt: Date;

  @Column('integer', { name: 'duration_seconds', nullable: true })
  durationSeconds: number | null;

  @Column('double precision', { nullable: true })
  score: number | null;

  @Column('timestamptz', { name: 'received_at' })
  receivedAt: Date;
}
