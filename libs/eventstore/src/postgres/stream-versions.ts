/**
 * The last version this process saw per stream, bounded (least recently used out). Only a hint
 * for planning appends without reading first: a stale entry costs one extra round trip.
 */
export class StreamVersions {
  private readonly versions = new Map<string, bigint>();

  constructor(private readonly capacity = 10_000) {}

  get(streamId: string): bigint | undefined {
    return this.versions.get(streamId);
  }

  set(streamId: string, version: bigint): void {
    // Re-inserting moves the key to the end of the Map's order: the oldest key is the first one.
    this.versions.delete(streamId);
    this.versions.set(streamId, version);
    if (this.versions.size > this.capacity) this.versions.delete(this.versions.keys().next().value!);
  }

  get size(): number {
    return this.versions.size;
  }
}
