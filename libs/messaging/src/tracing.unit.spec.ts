import { headers } from '@nats-io/nats-core';
import { ROOT_CONTEXT, SpanStatusCode, trace } from '@opentelemetry/api';
import { ConflictError } from '@orch/domain-kit';
import {
  contextFromTraceparent,
  extractTraceContext,
  injectTraceContext,
  markSpanError,
  traceparentOf,
} from './tracing';

const TP = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

describe('trace context in NATS headers without a registered SDK', () => {
  it('injects and extracts a W3C traceparent', () => {
    const ctx = contextFromTraceparent(TP, 'vendor=1');
    const h = headers();
    injectTraceContext(ctx, h);
    expect(h.get('traceparent')).toBe(TP);
    expect(h.get('tracestate')).toBe('vendor=1');
    const back = extractTraceContext(h);
    expect(traceparentOf(back)).toBe(TP);
    expect(trace.getSpanContext(back)?.isRemote).toBe(true);
  });

  it('gives the root context for missing or invalid headers', () => {
    expect(extractTraceContext(undefined)).toBe(ROOT_CONTEXT);
    const h = headers();
    h.set('traceparent', 'garbage');
    expect(trace.getSpanContext(extractTraceContext(h))).toBeUndefined();
    expect(traceparentOf(contextFromTraceparent(''))).toBe('');
  });
});

describe('markSpanError', () => {
  const fakeSpan = () => {
    const calls: { status?: unknown; attrs: Record<string, unknown>; exceptions: number } = {
      attrs: {},
      exceptions: 0,
    };
    const span = {
      setStatus: (s: unknown) => (calls.status = s),
      setAttribute: (k: string, v: unknown) => (calls.attrs[k] = v),
      recordException: () => calls.exceptions++,
    };
    return { span: span as never, calls };
  };

  it('leaves the status of a business rejection unset', () => {
    const { span, calls } = fakeSpan();
    markSpanError(span, new ConflictError('taken'));
    expect(calls.status).toBeUndefined();
    expect(calls.attrs['orch.rejection.code']).toBe('conflict');
  });

  it('marks other errors as ERROR', () => {
    const { span, calls } = fakeSpan();
    markSpanError(span, new Error('down'));
    expect(calls.status).toEqual({ code: SpanStatusCode.ERROR, message: 'down' });
    expect(calls.exceptions).toBe(1);
  });
});
