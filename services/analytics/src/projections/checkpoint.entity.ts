import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * The last checkpoint of a projection: its state as JSON and the global position it reflects,
 * written together so a restart folds on from exactly where the snapshot ends.
 */
@Entity({ name: 'projection_checkpoint' })
export class ProjectionCheckpoint {
  /** The projection's name, e.g. `analytics`. */
  @PrimaryColumn('text')
  name!: string;

  /** Global position of the last event folded into `snapshot` (0: none). */
  @Column('bigint')
  position!: string;

  @Column('jsonb')
  snapshot!: unknown;

  @Column('timestamptz', { name: 'updated_at' })
  updatedAt!: Date;
}
