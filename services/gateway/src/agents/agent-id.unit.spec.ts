import { z } from 'zod';
import { derivedUuid } from './agent-id';

describe('derivedUuid', () => {
  it('is a stable, valid UUID per input', () => {
    const a = derivedUuid('key-1', 'idem-1', 'agent');
    expect(a).toBe(derivedUuid('key-1', 'idem-1', 'agent'));
    expect(z.uuid().safeParse(a).success).toBe(true);
    expect(a[14]).toBe('8');
  });

  it('differs per principal, key and purpose, and is not fooled by joining', () => {
    const ids = new Set([
      derivedUuid('key-1', 'idem-1', 'agent'),
      derivedUuid('key-2', 'idem-1', 'agent'),
      derivedUuid('key-1', 'idem-2', 'agent'),
      derivedUuid('key-1', 'idem-1', 'command'),
      derivedUuid('key-1i', 'dem-1', 'agent'),
    ]);
    expect(ids.size).toBe(5);
  });
});
