import type { IncomingMessage } from 'node:http';
import { correlationIdFor } from './correlation';

const req = (value?: string | string[]) =>
  ({ headers: value === undefined ? {} : { 'x-correlation-id': value } }) as unknown as IncomingMessage;

describe('correlationIdFor', () => {
  it('keeps a valid client id', () => {
    expect(correlationIdFor(req('sess-42:abc.1'))).toBe('sess-42:abc.1');
    expect(correlationIdFor(req(['first', 'second']))).toBe('first');
  });

  it('replaces a missing or unsafe id with a new UUID', () => {
    const uuid = /^[0-9a-f-]{36}$/;
    expect(correlationIdFor(req())).toMatch(uuid);
    expect(correlationIdFor(req('has space'))).toMatch(uuid);
    expect(correlationIdFor(req('x'.repeat(200)))).toMatch(uuid);
    expect(correlationIdFor(req('line\nbreak'))).toMatch(uuid);
  });
});
