import {
  toAgentEvent,
  toSessionEvent,
  agentDecider,
  contextDecider,
  sessionDecider,
  type FleetFacts,
  type SessionContextUpdated,
  type StartSession,
} from '@orch/coordination';
import { toWorkflowEvent, workflowDecider } from '@orch/distribution';
import { eventReader, readDecision, type Decider } from '@orch/domain-kit';
import {
  ALLOCATOR_STREAM,
  DEFAULT_ALLOCATOR_OPTIONS,
  allocatorDecider,
  readAllocatorEvent,
  type AllocatorOptions,
} from '@orch/resources';

/**
 * How one kind of stream is folded and decided: the decider the service that owns the stream
 * runs, and how a stored event of the stream reads as one of its domain events.
 *
 * Kinds are data, so a test (or a pre-deploy check) can swap one decider for another:
 * `kinds.map((k) => (k.name === 'workflow' ? { ...k, decider: changed } : k))`.
 */
export interface StreamKind {
  /** 'workflow' | 'session' | 'context' | 'agent' | 'allocator' for the default kinds. */
  readonly name: string;
  matches(streamId: string): boolean;
  /**
   * The stream's decider. Typed loosely on purpose: replay feeds it whatever `read` returns and the
   * commands recorded on its own stream, which is what its service fed it.
   */
  readonly decider: Decider<unknown, unknown, unknown>;
  /**
   * A stored event as the decider's event; undefined for a type the kind does not know, or a
   * `schemaVersion` it cannot read (no upcasters yet: the default kinds read version 1 only).
   */
  read(type: string, data: unknown, schemaVersion?: number): { type: string; data: unknown } | undefined;
  /**
   * Its streams hold the events of many sessions (agents, the allocator): replay folds them whole,
   * and verify checks only the decisions the session caused. Absent or false: a session's own
   * stream, every decision of which is the session's.
   */
  readonly shared?: boolean;
  /**
   * The command a recorded decision (`metadata.decision`) stands for. Absent: `readDecision`.
   * A kind whose commands carry what JSON cannot hold (functions) restores it here.
   */
  command?(recorded: unknown): unknown;
}

/** The allocator's kind also says which options its decider (and the queue's order) runs with. */
export interface AllocatorStreamKind extends StreamKind {
  readonly name: 'allocator';
  readonly options: AllocatorOptions;
}

/** Options of {@link defaultStreamKinds}. */
export interface StreamKindOptions {
  /** The allocator decider's options, as the resources service is configured (e.g. agingStepMs). */
  readonly allocator?: Partial<AllocatorOptions>;
}

type Reader = (type: string, data: unknown) => { type: string; data: unknown } | undefined;

/** A reader of schema version 1 only: there are no other versions, hence no upcasters, yet. */
const versionOne =
  (read: Reader) =>
  (type: string, data: unknown, schemaVersion = 1): { type: string; data: unknown } | undefined =>
    schemaVersion === 1 ? read(type, data) : undefined;

const WORKFLOW_PREFIX = 'workflow-';
const SESSION_PREFIX = 'session-';
const AGENT_PREFIX = 'agent-';
/** `session-<sessionId>-context-<key>` (contextStreamId in libs/coordination). */
const CONTEXT_STREAM = /^session-.+-context-.+$/;

const isContextStream = (streamId: string): boolean => CONTEXT_STREAM.test(streamId);

/**
 * The facts a session start was validated against are not part of the recorded command (they are
 * functions of the fleet at the time). The start was accepted then, so replay takes the fleet as
 * having offered what the request asked for: a changed rule about the request itself still shows,
 * a change in the fleet since does not.
 */
const RECORDED_FLEET: FleetFacts = { offers: () => true, isRegistered: () => true };

function sessionCommand(recorded: unknown): unknown {
  const command = readDecision<{ readonly type?: unknown }>(recorded);
  return command !== null && typeof command === 'object' && command.type === 'StartSession'
    ? ({ ...(command as StartSession), fleet: RECORDED_FLEET } satisfies StartSession)
    : command;
}

const readWorkflowEvent: Reader = toWorkflowEvent;
const readSessionEvent: Reader = toSessionEvent;
const readContextEvent: Reader = eventReader<SessionContextUpdated>(['SessionContextUpdated']);
const readAgentEvent: Reader = toAgentEvent;
const readAllocator: Reader = readAllocatorEvent;

/**
 * The kinds of every stream a session's history touches, with the deciders the services run today:
 * `workflow-<sessionId>` (distribution), `session-<sessionId>` and its context streams
 * (coordination), `agent-<agentId>` (coordination, shared) and `resources-allocator` (resources,
 * shared; its decider built with `options.allocator`).
 */
export function defaultStreamKinds(options: StreamKindOptions = {}): StreamKind[] {
  const allocatorOptions: AllocatorOptions = { ...DEFAULT_ALLOCATOR_OPTIONS, ...options.allocator };
  const allocator: AllocatorStreamKind = {
    name: 'allocator',
    matches: (streamId) => streamId === ALLOCATOR_STREAM,
    decider: allocatorDecider(allocatorOptions),
    read: versionOne(readAllocator),
    shared: true,
    options: allocatorOptions,
  };
  return [
    {
      name: 'workflow',
      matches: (streamId) => streamId.startsWith(WORKFLOW_PREFIX) && streamId.length > WORKFLOW_PREFIX.length,
      decider: workflowDecider,
      read: versionOne(readWorkflowEvent),
    },
    {
      name: 'context',
      matches: isContextStream,
      decider: contextDecider,
      read: versionOne(readContextEvent),
    },
    {
      name: 'session',
      matches: (streamId) =>
        streamId.startsWith(SESSION_PREFIX) &&
        streamId.length > SESSION_PREFIX.length &&
        !isContextStream(streamId),
      decider: sessionDecider,
      read: versionOne(readSessionEvent),
      command: sessionCommand,
    },
    {
      name: 'agent',
      matches: (streamId) => streamId.startsWith(AGENT_PREFIX) && streamId.length > AGENT_PREFIX.length,
      decider: agentDecider,
      read: versionOne(readAgentEvent),
      shared: true,
    },
    allocator,
  ];
}

/** The first kind that matches the stream, or undefined. */
export const kindOf = (kinds: readonly StreamKind[], streamId: string): StreamKind | undefined =>
  kinds.find((k) => k.matches(streamId));

/** The allocator decider's options the kinds carry (the defaults when no allocator kind says). */
export function allocatorOptionsOf(kinds: readonly StreamKind[]): AllocatorOptions {
  const kind = kinds.find((k): k is AllocatorStreamKind => k.name === 'allocator' && 'options' in k);
  return kind?.options ?? DEFAULT_ALLOCATOR_OPTIONS;
}
