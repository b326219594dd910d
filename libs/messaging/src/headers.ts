/** Header names carried by commands and events on NATS. */
export const Headers = {
  /** JetStream de-duplication id; the relay sets it to the eventId. */
  msgId: 'Nats-Msg-Id',
  eventType: 'Orch-Event-Type',
  globalPosition: 'Orch-Global-Position',
  streamId: 'Orch-Stream-Id',
  streamVersion: 'Orch-Stream-Version',
  correlationId: 'Orch-Correlation-Id',
  causationId: 'Orch-Causation-Id',
  /** Id of the command a request carries. */
  commandId: 'Orch-Command-Id',
  /** Set to `json` when the payload is raw JSON because no proto message is known for the type. */
  payloadEncoding: 'Orch-Payload-Encoding',
  /** Why a message was dead-lettered. */
  deadLetterReason: 'Orch-Dead-Letter-Reason',
  /** On a dead letter: the subject, stream sequence and delivery count of the original message. */
  originalSubject: 'Orch-Original-Subject',
  originalStreamSequence: 'Orch-Original-Stream-Sequence',
  originalMsgId: 'Orch-Original-Msg-Id',
  deliveryCount: 'Orch-Delivery-Count',
  /** On a dead letter: the durable consumer that gave up on it. */
  consumer: 'Orch-Consumer',
  traceparent: 'traceparent',
  tracestate: 'tracestate',
} as const;
