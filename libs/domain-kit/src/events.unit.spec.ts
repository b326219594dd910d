import { eventReader } from './events';

type LampEvent =
  | { readonly type: 'LampOn'; readonly data: { readonly at: string } }
  | { readonly type: 'LampOff'; readonly data: { readonly at: string } };

describe('eventReader()', () => {
  const toLampEvent = eventReader<LampEvent>(['LampOn', 'LampOff']);

  it('reads an event of a known type', () => {
    expect(toLampEvent('LampOn', { at: 't1' })).toEqual({ type: 'LampOn', data: { at: 't1' } });
  });
  it('gives undefined for any other type', () => {
    expect(toLampEvent('DoorOpened', { at: 't1' })).toBeUndefined();
  });
});
