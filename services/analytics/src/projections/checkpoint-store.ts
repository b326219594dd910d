import type { DataSource } from 'typeorm';
import { ProjectionCheckpoint } from './checkpoint.entity';

/** A projection's checkpoint as read back. */
export interface StoredCheckpoint {
  /** Global position of the last event folded into `snapshot`. */
  readonly position: bigint;
  readonly snapshot: unknown;
  readonly updatedAt: Date;
}

/** Reads and writes one projection's row of `projection_checkpoint`. */
export class CheckpointStore {
  constructor(
    private readonly dataSource: DataSource,
    /** The projection's name: its row. */
    readonly name: string,
  ) {}

  async load(): Promise<StoredCheckpoint | undefined> {
    const row = await this.dataSource.getRepository(ProjectionCheckpoint).findOneBy({ name: this.name });
    return row
      ? { position: BigInt(row.position), snapshot: row.snapshot, updatedAt: row.updatedAt }
      : undefined;
  }

  /** Replaces the checkpoint: snapshot and position in one transaction, so they never disagree. */
  async save(position: bigint, snapshot: unknown, at: Date): Promise<void> {
    await this.dataSource.transaction(async (em) => {
      await em
        .createQueryBuilder()
        .insert()
        .into(ProjectionCheckpoint)
        .values({
          name: this.name,
          position: (position < 0n ? 0n : position).toString(),
          // TypeORM writes a jsonb column's value as JSON text.
          snapshot: snapshot as object,
          updatedAt: at,
        })
        .orUpdate(['position', 'snapshot', 'updated_at'], ['name'])
        .execute();
    });
  }
}
