import { Column, Entity, PrimaryColumn } from 'typeorm';

export const CONTENT_TYPES = ['lesson', 'quiz', 'exercise', 'project', 'reference'] as const;
export type ContentType = (typeof CONTENT_TYPES)[number];
export const CONTENT_STATUSES = ['draft', 'published', 'archived'] as const;
export type ContentStatus = (typeof CONTENT_STATUSES)[number];

@Entity('educational_content')
export class EducationalContentEntity {
  @PrimaryColumn('uuid', { name: 'organization_id' })
  organizationId: string;

  @PrimaryColumn('uuid')
  id: string;

  @Column('uuid', { name: 'author_id', nullable: true })
  authorId: string | null;

  @Column('text')
  title: string;

  @Column('text', { name: 'content_type' })
  contentType: ContentType;

  @Column('text')
  status: ContentStatus;

  @Column('integer', { name: 'generation_time_ms', nullable: true })
  generationTimeMs: number | null;

  @Column('timestamptz', { name: 'created_at' })
  createdAt: Date;

  @Column('timestamptz', { name: 'published_at', nullable: true })
  publishedAt: Date | null;

  @Column('timestamptz', { name: 'deleted_at', nullable: true })
  deletedAt: Date | null;
}
