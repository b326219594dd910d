/**
 * Names of subjects, streams and consumers. A namespace (default none) prefixes every subject
 * and stream, so several installations, or parallel test runs, share one NATS server without
 * seeing each other's messages.
 */
export interface Naming {
  readonly namespace: string;
  /** JetStream stream holding every event: subjects `events.>`. */
  readonly eventsStream: string;
  /** JetStream stream holding dead letters: subjects `dlq.>`. */
  readonly deadLetterStream: string;
  /** `events.<service>.<type>` (with the namespace prefix). */
  eventSubject(service: string, type: string): string;
  /** Every event subject: `events.>`. */
  readonly allEvents: string;
  /** Every dead-letter subject: `dlq.>`. */
  readonly allDeadLetters: string;
  /** `cmd.<service>.<name>`. */
  commandSubject(service: string, name: string): string;
  /** `dlq.<service>.<consumer>`. */
  deadLetterSubject(service: string, consumer: string): string;
  /** Durable consumer name for a service's consumer: `<service>-<consumer>`. */
  durableName(service: string, consumer: string): string;
}

const TOKEN = /^[A-Za-z0-9_-]+$/;

/** Builds the naming for `namespace` ('' for none). Throws when it is not a single subject token. */
export function naming(namespace = ''): Naming {
  if (namespace !== '' && !TOKEN.test(namespace)) {
    throw new Error(`namespace "${namespace}" must be a single NATS subject token ([A-Za-z0-9_-]+)`);
  }
  const p = namespace === '' ? '' : `${namespace}.`;
  const streamPrefix = namespace === '' ? '' : `${namespace.toUpperCase().replace(/-/g, '_')}_`;
  return {
    namespace,
    eventsStream: `${streamPrefix}EVENTS`,
    deadLetterStream: `${streamPrefix}DLQ`,
    eventSubject: (service, type) => `${p}events.${service}.${type}`,
    allEvents: `${p}events.>`,
    allDeadLetters: `${p}dlq.>`,
    commandSubject: (service, name) => `${p}cmd.${service}.${name}`,
    deadLetterSubject: (service, consumer) => `${p}dlq.${service}.${consumer}`,
    durableName: (service, consumer) => `${service}-${consumer}`,
  };
}
