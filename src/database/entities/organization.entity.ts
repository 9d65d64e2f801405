import { Column, Entity, PrimaryColumn } from 'typeorm';

export const TIERS = ['free', 'basic', 'premium', 'enterprise'] as const;
export type Tier = (typeof TIERS)[number];

@Entity('organizations')
export class OrganizationEntity {
  @PrimaryColumn('uuid')
  id: string;

  @Column('text')
  name: string;

  @Column('text', { unique: true })
  slug: string;

  @Column('text')
  tier: Tier;

  @Column('timestamptz', { name: 'created_at' })
  createdAt: Date;
}
