import { rfc3339 } from './time';

describe('rfc3339()', () => {
  it('omits the fraction for whole seconds, as the protobuf JSON mapping does', () => {
    expect(rfc3339(new Date('2026-11-21T10:00:00.000Z'))).toBe('2026-11-21T10:00:00Z');
  });
  it('keeps milliseconds otherwise', () => {
    expect(rfc3339(new Date('2026-11-21T10:00:00.120Z'))).toBe('2026-11-21T10:00:00.120Z');
  });
});
