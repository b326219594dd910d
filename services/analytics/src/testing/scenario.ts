import { randomUUID } from 'node:crypto';
import type { HistoryWriter } from './history';
import { spec } from './history';

export const AGENT_A = 'a0000000-0000-4000-8000-00000000000a';
export const AGENT_B = 'b0000000-0000-4000-8000-00000000000b';

/**
 * Two agents of two providers, and a session of three tasks (b depends on a) where c fails once
 * and succeeds on its retry with another agent, then the session closes. Times are 30 minutes ago
 * onwards, so the views' windows reach them. Answers the session id.
 */
export async function recordCompletedSession(writer: HistoryWriter, origin: Date): Promise<string> {
  const sessionId = randomUUID();
  const ms = (n: number) => new Date(origin.getTime() + n);
  await writer.registerAgent(AGENT_A, 'anthropic', origin);
  await writer.registerAgent(AGENT_B, 'openai', origin);
  await writer.startSession(sessionId, [spec('a'), spec('b', ['a'], 'reviewer'), spec('c')], ms(10));
  await writer.attempt(sessionId, 'a', origin, {
    agentId: AGENT_A,
    assignAt: 1_000,
    startAt: 1_200,
    endAt: 4_200,
  });
  await writer.attempt(sessionId, 'c', origin, {
    agentId: AGENT_B,
    assignAt: 5_000,
    startAt: 5_100,
    endAt: 6_100,
    fail: true,
  });
  await writer.attempt(sessionId, 'b', origin, {
    agentId: AGENT_B,
    assignAt: 7_500,
    startAt: 7_600,
    endAt: 10_600,
    costUsd: 0.02,
  });
  await writer.attempt(sessionId, 'c', origin, {
    agentId: AGENT_A,
    assignAt: 11_000,
    startAt: 11_500,
    endAt: 19_500,
  });
  await writer.closeSession(sessionId, ms(20_000));
  return sessionId;
}

/** A second session, still running: x succeeded on agent A, y (after x) is ready. Answers its id. */
export async function recordRunningSession(writer: HistoryWriter, origin: Date): Promise<string> {
  const sessionId = randomUUID();
  await writer.startSession(sessionId, [spec('x'), spec('y', ['x'])], origin);
  await writer.attempt(sessionId, 'x', origin, {
    agentId: AGENT_A,
    assignAt: 500,
    startAt: 700,
    endAt: 2_700,
  });
  return sessionId;
}
