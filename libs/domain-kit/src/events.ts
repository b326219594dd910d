/**
 * Reads a stored or published event (`type` and `data`) as the domain event union `E` when its
 * type is one of `types`, undefined otherwise. The data is trusted: it is the proto JSON mapping
 * a decider of this domain wrote.
 */
export function eventReader<E extends { readonly type: string; readonly data: unknown }>(
  types: readonly E['type'][],
): (type: string, data: unknown) => E | undefined {
  const known = new Set<string>(types);
  return (type, data) => (known.has(type) ? ({ type, data } as E) : undefined);
}
