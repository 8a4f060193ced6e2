import type { Sql } from './sql';

/** A consumer's checkpoint as the ops streams view reads it. */
export interface ConsumerCheckpointRecord {
  consumer: string;
  /** bigint, as pg returns it. */
  stream_seq: string;
  updated_at: Date;
}

/** A consumer's checkpoint as the projection view serves it. */
export interface ConsumerCheckpointView {
  consumer: string;
  streamSeq: string;
  updatedAt: Date;
}

/** The projection checkpoints of `consumer_checkpoints`, read by ops-api. */
export class ConsumerCheckpointsRepository {
  constructor(private readonly sql: Sql) {}

  /** Every checkpoint, unordered. */
  async all(): Promise<ConsumerCheckpointRecord[]> {
    return (await this.sql.query('SELECT consumer, stream_seq, updated_at FROM consumer_checkpoints')) as ConsumerCheckpointRecord[];
  }

  /** Every checkpoint by consumer, the sequence as text. */
  async views(): Promise<ConsumerCheckpointView[]> {
    return (await this.sql.query('SELECT consumer, stream_seq::text AS "streamSeq", updated_at AS "updatedAt" FROM consumer_checkpoints ORDER BY consumer')) as ConsumerCheckpointView[];
  }
}
