import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/** Per device: how far its gapless sequence has arrived, the gaps above it, and when it was last heard from. */
@Entity({ name: 'device_sequences' })
@Index('device_sequences_site', ['workspace', 'site'])
export class DeviceSequenceRow {
  @PrimaryColumn({ type: 'text' }) workspace!: string;
  @PrimaryColumn({ name: 'device_id', type: 'text' }) deviceId!: string;
  @Column({ type: 'text', nullable: true }) site!: string | null;
  /** The deviceSeq of the latest event that named a site: `site` is that event's (so commit order does not matter). */
  @Column({ name: 'site_seq', type: 'bigint', nullable: true }) siteSeq!: string | null;
  /** Highest N such that every deviceSeq 1..N has been journaled and applied or answered. */
  @Column({ type: 'bigint', default: 0 }) contiguous!: string;
  @Column({ name: 'max_seq', type: 'bigint', default: 0 }) maxSeq!: string;
  /** Sequences seen above `contiguous` (sorted; bounded): what is missing between them are the gaps. */
  @Column({ type: 'jsonb', default: () => "'[]'" }) ahead!: number[];
  @Column({ type: 'bigint', default: 0 }) events!: string;
  @Column({ name: 'last_accepted_at', type: 'timestamptz', nullable: true }) lastAcceptedAt!: Date | null;
}
