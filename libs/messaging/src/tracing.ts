import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
  type TextMapGetter,
  type TextMapPropagator,
  type TextMapSetter,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { isDomainError } from '@orch/domain-kit';
import type { MsgHdrs } from '@nats-io/nats-core';

export { SpanKind };

const TRACER_NAME = '@orch/messaging';

// Used when no SDK registered a global propagator (the global one is then a no-op that
// would silently drop the trace context between services).
const localPropagator = new W3CTraceContextPropagator();

const propagator = (): TextMapPropagator =>
  propagation.fields().length > 0 ? (propagation as unknown as TextMapPropagator) : localPropagator;

const setter: TextMapSetter<MsgHdrs> = {
  set: (carrier, key, value) => carrier.set(key, value),
};

const getter: TextMapGetter<MsgHdrs | undefined> = {
  keys: (carrier) => (carrier ? carrier.keys() : []),
  get: (carrier, key) => {
    if (!carrier || !carrier.has(key)) return undefined;
    return carrier.get(key);
  },
};

/** Writes the W3C trace context of `ctx` (traceparent, tracestate) into NATS headers. */
export function injectTraceContext(ctx: Context, headers: MsgHdrs): void {
  propagator().inject(ctx, headers, setter);
}

/** Reads the W3C trace context from NATS headers; the root context when there is none. */
export function extractTraceContext(headers: MsgHdrs | undefined): Context {
  return propagator().extract(ROOT_CONTEXT, headers, getter);
}

/** A context whose remote parent is the given W3C traceparent (empty or invalid -> root context). */
export function contextFromTraceparent(traceparent: string | undefined, tracestate?: string): Context {
  if (!traceparent) return ROOT_CONTEXT;
  const carrier: Record<string, string> = { traceparent };
  if (tracestate) carrier['tracestate'] = tracestate;
  return localPropagator.extract(ROOT_CONTEXT, carrier, {
    keys: (c) => Object.keys(c),
    get: (c, k) => c[k],
  });
}

/** The W3C traceparent of the span in `ctx`, or '' when it has none. */
export function traceparentOf(ctx: Context): string {
  const carrier: Record<string, string> = {};
  localPropagator.inject(ctx, carrier, { set: (c, k, v) => (c[k] = v) });
  return carrier['traceparent'] ?? '';
}

/**
 * Runs `fn` inside a new span, child of `parentContext`, and ends the span when `fn` settles.
 *
 * A DomainError is a business answer, not a fault: it is recorded as the attribute
 * `orch.rejection.code` and leaves the span status unset. Any other error marks the span ERROR,
 * so error-rate dashboards count only real failures.
 */
export async function withSpan<T>(
  name: string,
  kind: SpanKind,
  parentContext: Context,
  attributes: Attributes,
  fn: (span: Span, ctx: Context) => Promise<T>,
): Promise<T> {
  const tracer = trace.getTracer(TRACER_NAME);
  const span = tracer.startSpan(name, { kind, attributes }, parentContext);
  const ctx = trace.setSpan(parentContext, span);
  try {
    return await context.with(ctx, () => fn(span, ctx));
  } catch (err) {
    markSpanError(span, err);
    throw err;
  } finally {
    span.end();
  }
}

/** Records `err` on `span`: a rejection attribute for DomainErrors, ERROR status for anything else. */
export function markSpanError(span: Span, err: unknown): void {
  if (isDomainError(err) || isBusinessRejection(err)) {
    span.setAttribute('orch.rejection.code', (err as { code: string }).code);
    return;
  }
  span.recordException(err instanceof Error ? err : String(err));
  span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
}

// Remote business rejections (RemoteDomainError with a domain code) are answers too.
const BUSINESS_CODES = new Set([
  'validation',
  'not_found',
  'conflict',
  'forbidden',
  'illegal_state',
  'concurrency',
]);
function isBusinessRejection(err: unknown): boolean {
  return (
    err instanceof Error &&
    err.name === 'RemoteDomainError' &&
    BUSINESS_CODES.has((err as Error & { code?: string }).code ?? '')
  );
}
