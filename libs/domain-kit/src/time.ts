/**
 * A Date as an RFC 3339 UTC timestamp in the canonical form of the protobuf JSON mapping
 * (no fraction for whole seconds, otherwise milliseconds), so event data written by a decider is
 * byte-for-byte what a round trip through its proto message gives back.
 */
export const rfc3339 = (date: Date): string => {
  const iso = date.toISOString();
  return date.getUTCMilliseconds() === 0 ? `${iso.slice(0, 19)}Z` : iso;
};
