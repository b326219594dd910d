import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/** Read model row of an agent (the service's own schema; rebuilt from events). */
@Entity({ name: 'agents' })
export class AgentRow {
  @PrimaryColumn('text')
  id!: string;

  @Column('text')
  name!: string;

  @Column('text')
  provider!: string;

  @Column('text')
  model!: string;

  @Column('text')
  status!: string;

  @Column('int', { name: 'active_tasks' })
  activeTasks!: number;

  /** The attempts of tasks held, in the order taken; one slot each. */
  @Column('jsonb', { name: 'active_slots' })
  slots!: { taskId: string; attempt: number }[];

  /** The tasks of `slots`, one entry per slot (what the previous version read and wrote). */
  @Column('jsonb', { name: 'active_task_ids' })
  activeTaskIds!: string[];

  /** healthy | unhealthy */
  @Column('text')
  health!: string;

  @Column('boolean')
  draining!: boolean;

  @Column('jsonb')
  capabilities!: { name: string; level: number }[];

  @Column('text')
  circuit!: string;

  @Column('int', { name: 'max_concurrency' })
  maxConcurrency!: number;

  @Column('double precision', { name: 'cost_per_1k_input' })
  costPer1kInput!: number;

  @Column('double precision', { name: 'cost_per_1k_output' })
  costPer1kOutput!: number;

  @Column('jsonb')
  labels!: Record<string, string>;

  @Column('text', { name: 'agent_type' })
  agentType!: string;

  @Column('timestamptz', { name: 'registered_at' })
  registeredAt!: Date;

  /** Global position of the registration: the stable order of listings and their cursor. */
  @Index({ unique: true })
  @Column('bigint', { name: 'registered_position' })
  registeredPosition!: string;

  /** Stream version of the last event applied. */
  @Column('int')
  version!: number;
}
