import { compareIds, type Contender } from '../policies/priority';

/**
 * A cycle through `start` in the wait-for graph (waiter -> holders it waits for), as the list of ids,
 * or undefined.
 *
 * The list starts with `start` and does not repeat it: [a, b, c] means a waits for b, b for c and c for
 * a ([a] when a waits for itself). Cycles elsewhere in the graph that do not pass through `start` are
 * not reported: call it with each new waiter, the only node a new cycle can pass through.
 *
 * Iterative depth-first search, O(nodes + edges reachable from start): a node fully explored once
 * cannot lead back to `start` on a later path either. Edges are followed in the order `waitsFor`
 * gives them, so the answer is deterministic; `waitsFor` is called at most once per node.
 */
export function findCycle(waitsFor: (id: string) => Iterable<string>, start: string): string[] | undefined {
  const explored = new Set<string>([start]);
  const stack: { id: string; next: Iterator<string> }[] = [
    { id: start, next: waitsFor(start)[Symbol.iterator]() },
  ];
  while (stack.length > 0) {
    const frame = stack[stack.length - 1]!;
    const step = frame.next.next();
    if (step.done) {
      stack.pop();
      continue;
    }
    const to = step.value;
    if (to === start) return stack.map((f) => f.id);
    if (explored.has(to)) continue;
    explored.add(to);
    stack.push({ id: to, next: waitsFor(to)[Symbol.iterator]() });
  }
  return undefined;
}

/**
 * The deadlock victim: lowest priority, then youngest (largest since), then largest id.
 * @throws RangeError for an empty cycle.
 */
export function chooseVictim(cycle: readonly Contender[]): Contender {
  let victim = cycle[0];
  if (victim === undefined) throw new RangeError('chooseVictim needs at least one contender');
  for (const c of cycle.slice(1)) if (isBetterVictim(c, victim)) victim = c;
  return victim;
}

function isBetterVictim(c: Contender, than: Contender): boolean {
  if (c.priority !== than.priority) return c.priority < than.priority;
  if (c.since !== than.since) return c.since > than.since;
  return compareIds(c.id, than.id) > 0;
}
