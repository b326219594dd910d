import type { RecordedEvent, Upcaster } from './contract';
import { UpcastError } from './errors';

/** Turns a stored event into its current shape; the identity when no upcaster matches. */
export type Upcast = (event: RecordedEvent) => RecordedEvent;

/** A chain that renames types back and forth would never end; no real history needs this many steps. */
const MAX_STEPS = 64;

const key = (type: string, version: number): string => `${version}:${type}`;

/**
 * Builds the read-side upcast function from the registered upcasters (contract.ts `Upcaster`).
 * Upcasters chain: v1 -> v2 -> v3 runs while one is registered for the event's current
 * (type, schemaVersion). A step must move the event forward (a higher version, or a new type),
 * so a misconfigured chain fails loudly instead of looping.
 *
 * @throws UpcastError when two upcasters are registered for the same (type, fromVersion).
 */
export function upcasterChain(upcasters: readonly Upcaster[] = []): Upcast {
  if (upcasters.length === 0) return (event) => event;
  const byKey = new Map<string, Upcaster>();
  for (const upcaster of upcasters) {
    const k = key(upcaster.type, upcaster.fromVersion);
    if (byKey.has(k)) {
      throw new UpcastError(`two upcasters are registered for ${upcaster.type} v${upcaster.fromVersion}`);
    }
    byKey.set(k, upcaster);
  }
  return (event) => {
    let current = event;
    for (let step = 0; ; step++) {
      const upcaster = byKey.get(key(current.type, current.schemaVersion));
      if (!upcaster) return current;
      if (step === MAX_STEPS) {
        throw new UpcastError(
          `upcasting ${event.type} v${event.schemaVersion} did not end after ${MAX_STEPS} steps`,
          event.eventId,
        );
      }
      let next: ReturnType<Upcaster['upcast']>;
      try {
        next = upcaster.upcast(current.data, current);
      } catch (cause) {
        throw new UpcastError(
          `upcaster for ${current.type} v${current.schemaVersion} failed on event ${event.eventId}`,
          event.eventId,
          { cause },
        );
      }
      const type = next.type ?? current.type;
      if (type === current.type && !(next.schemaVersion > current.schemaVersion)) {
        throw new UpcastError(
          `upcaster for ${current.type} v${current.schemaVersion} returned v${next.schemaVersion}; it must move the version forward`,
          event.eventId,
        );
      }
      current = { ...current, type, schemaVersion: next.schemaVersion, data: next.data };
    }
  };
}
