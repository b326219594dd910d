/**
 * @orch/replay - pure session replay (DESIGN.md "Replay"): a session's history folded to any
 * position with the services' own evolve functions (time travel), today's deciders run again on
 * the recorded commands (verify), and the NDJSON lines of an export. No I/O: the analytics service
 * reads the events and passes them in.
 */
export * from './replay-event';
export {
  defaultStreamKinds,
  kindOf,
  type AllocatorStreamKind,
  type StreamKind,
  type StreamKindOptions,
} from './stream-kinds';
export * from './replay';
export * from './verify';
export * from './export-lines';
