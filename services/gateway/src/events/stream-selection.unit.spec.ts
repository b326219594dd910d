import { streamSelection } from './stream-selection';

describe('streamSelection', () => {
  it('carries every event and no metrics by default', () => {
    expect(streamSelection({})).toEqual({ events: true, eventTypes: [], metrics: false });
    expect(streamSelection({ metrics: false })).toEqual({ events: true, eventTypes: [], metrics: false });
  });

  it('adds metrics to the events with metrics=1', () => {
    expect(streamSelection({ metrics: true })).toEqual({ events: true, eventTypes: [], metrics: true });
    expect(streamSelection({ types: ['TaskAssigned'], metrics: true })).toEqual({
      events: true,
      eventTypes: ['TaskAssigned'],
      metrics: true,
    });
  });

  it('takes `metrics` among the types as the opt-in, not as an event type', () => {
    expect(streamSelection({ types: ['TaskAssigned', 'metrics', 'TaskSucceeded'] })).toEqual({
      events: true,
      eventTypes: ['TaskAssigned', 'TaskSucceeded'],
      metrics: true,
    });
  });

  it('carries metrics only when they are the only type asked for', () => {
    expect(streamSelection({ types: ['metrics'] })).toEqual({ events: false, eventTypes: [], metrics: true });
  });

  it('keeps an empty types list meaning every event', () => {
    expect(streamSelection({ types: [] })).toEqual({ events: true, eventTypes: [], metrics: false });
  });
});
