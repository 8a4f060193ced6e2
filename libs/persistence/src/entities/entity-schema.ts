import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * The schema registry as data: one row per published version of an entity type (see `EntityTypeSchema`
 * in `@tidemark/merge`). Published versions are immutable, which keeps a replay of the journal deterministic.
 */
@Entity({ name: 'entity_schemas' })
export class EntitySchemaRow {
  @PrimaryColumn({ type: 'text' }) type!: string;
  @PrimaryColumn({ type: 'integer' }) version!: number;
  /** The `EntityTypeSchema`, exactly as published. */
  @Column({ type: 'jsonb' }) definition!: unknown;
  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' }) createdAt!: Date;
}
