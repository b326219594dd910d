import { create } from '@bufbuild/protobuf';
import { DrainAgentSchema } from '@orch/contracts';
import type { DecodedEvent } from './codec';
import type { CommandContext } from './commands';
import { commandMetadata, reactionMetadata } from './metadata';

const ctx: CommandContext = {
  commandId: 'cmd-1',
  command: 'coordination.DrainAgent',
  correlationId: 'request-1',
  causationId: 'cmd-1',
  traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
};
const drain = create(DrainAgentSchema, { agentId: 'a1' });

describe('commandMetadata', () => {
  it('records the caller, the trace and the command in the proto JSON mapping', () => {
    expect(commandMetadata({ ...ctx, principal: { id: 'u1', role: 'admin' } }, drain)).toEqual({
      correlationId: 'request-1',
      causationId: 'cmd-1',
      traceparent: ctx.traceparent,
      principal: { id: 'u1', role: 'admin' },
      command: { name: 'coordination.DrainAgent', payload: { agentId: 'a1' } },
    });
  });

  it('correlates with the session when the caller names it, and leaves out a missing principal', () => {
    const metadata = commandMetadata(ctx, drain, 'session-1');
    expect(metadata.correlationId).toBe('session-1');
    expect(metadata).not.toHaveProperty('principal');
  });

  it('refuses a message proto/ does not declare', () => {
    expect(() => commandMetadata(ctx, { $typeName: 'nowhere.Unknown' })).toThrow(
      'proto/ declares no message nowhere.Unknown',
    );
  });
});

describe('reactionMetadata', () => {
  const event = { eventId: 'e-1', correlationId: 'session-2', traceparent: ctx.traceparent } as DecodedEvent;

  it('is caused by the event, in its trace and correlation', () => {
    expect(reactionMetadata(event)).toEqual({
      correlationId: 'session-2',
      causationId: 'e-1',
      traceparent: ctx.traceparent,
    });
  });

  it('takes the correlation the caller names, and no empty traceparent', () => {
    expect(reactionMetadata({ ...event, traceparent: '' }, 'session-3')).toEqual({
      correlationId: 'session-3',
      causationId: 'e-1',
    });
  });
});
