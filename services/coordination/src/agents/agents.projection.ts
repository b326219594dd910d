import { toAgentEvent } from '@orch/coordination';
import { Inject, Injectable } from '@nestjs/common';
import { agentProjectionEvents, projectAgent } from '@orch/coordination';
import { applyOnce, EventHandler, type DecodedEvent } from '@orch/messaging';
import { DataSource } from 'typeorm';
import { COORDINATION_OPTIONS, type CoordinationModuleOptions } from '../tokens';
import { loadForUpdate, saveAgent, toDocument } from './agent.read-model';

export const AGENTS_READ_MODEL = 'agents-read-model';

/**
 * Keeps the agents table in step with agent events. The row change and the consumer's inbox entry
 * commit in one transaction, so a redelivered event is applied once.
 */
@Injectable()
export class AgentsProjection {
  constructor(
    private readonly dataSource: DataSource,
    @Inject(COORDINATION_OPTIONS) private readonly options: CoordinationModuleOptions,
  ) {}

  @EventHandler({ consumer: AGENTS_READ_MODEL, types: agentProjectionEvents, startPosition: 'all' })
  async apply(event: DecodedEvent): Promise<void> {
    const agentEvent = toAgentEvent(event.type, event.data);
    if (!agentEvent) return;
    await this.dataSource.transaction(async (em) => {
      await applyOnce(
        em,
        AGENTS_READ_MODEL,
        event,
        async () => {
          const row = await loadForUpdate(em, agentEvent.data.agentId);
          const current = row ? toDocument(row) : null;
          const next = projectAgent(current, agentEvent, Number(event.streamVersion));
          if (next && next !== current) {
            await saveAgent(em, next, row?.registeredPosition ?? event.globalPosition.toString());
          }
        },
        { schema: this.options.schema },
      );
    });
  }
}
