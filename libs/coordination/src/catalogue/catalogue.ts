import type { CapabilityData } from '../agents/agent.events';

/**
 * The agent catalogue: the kinds of agent the orchestrator knows, each with the capabilities it
 * brings by default and how work for it is routed. docs/agent-catalogue.md is written from this
 * data (a test keeps the two in step).
 */

/** Weights of the weighted selection strategy; only their ratios matter. */
export interface SelectionWeights {
  /** Proficiency in the capabilities the task needs. */
  readonly capability: number;
  /** Observed share of successful attempts. */
  readonly success: number;
  /** Observed time from assignment to result (lower is better). */
  readonly latency: number;
  /** Observed (or, before any, modelled) cost per task (lower is better). */
  readonly cost: number;
  /** Free slots (an idle agent before a busy one). */
  readonly load: number;
}

export type RoutingEmphasis = 'quality' | 'balanced' | 'cost' | 'latency';

export interface RoutingPreferences {
  readonly emphasis: RoutingEmphasis;
  readonly weights: SelectionWeights;
}

export interface CatalogueEntry {
  readonly type: string;
  readonly description: string;
  /** Taken when an agent of this type registers without naming capabilities. */
  readonly capabilities: readonly CapabilityData[];
  readonly routing: RoutingPreferences;
}

/** The type of an agent outside the catalogue; it must name its capabilities. */
export const GENERIC_AGENT_TYPE = 'generic';

const WEIGHTS: Readonly<Record<RoutingEmphasis, SelectionWeights>> = {
  quality: { capability: 0.35, success: 0.35, latency: 0.1, cost: 0.05, load: 0.15 },
  balanced: { capability: 0.3, success: 0.25, latency: 0.15, cost: 0.15, load: 0.15 },
  cost: { capability: 0.25, success: 0.2, latency: 0.1, cost: 0.3, load: 0.15 },
  latency: { capability: 0.25, success: 0.2, latency: 0.3, cost: 0.1, load: 0.15 },
};

const routing = (emphasis: RoutingEmphasis): RoutingPreferences => ({ emphasis, weights: WEIGHTS[emphasis] });

/** Routing of work no catalogue type claims. */
export const DEFAULT_ROUTING: RoutingPreferences = routing('balanced');

const entry = (
  type: string,
  description: string,
  capabilities: Record<string, number>,
  emphasis: RoutingEmphasis,
): CatalogueEntry => ({
  type,
  description,
  capabilities: Object.entries(capabilities).map(([name, level]) => ({ name, level })),
  routing: routing(emphasis),
});

export const agentCatalogue: readonly CatalogueEntry[] = [
  entry(
    'planner',
    'Breaks a goal into a plan of tasks; supervises hierarchical sessions.',
    { planning: 0.9, research: 0.5, documentation: 0.4 },
    'quality',
  ),
  entry('coder', 'Writes and changes code.', { code: 0.9, debugging: 0.6, testing: 0.5 }, 'balanced'),
  entry(
    'reviewer',
    'Reviews work and approves it or requests changes; navigates pair sessions.',
    { review: 0.9, code: 0.6, security: 0.4 },
    'quality',
  ),
  entry('tester', 'Writes and runs tests.', { testing: 0.9, code: 0.5, debugging: 0.5 }, 'latency'),
  entry(
    'debugger',
    'Finds and fixes the cause of failures.',
    { debugging: 0.9, code: 0.7, testing: 0.5 },
    'quality',
  ),
  entry(
    'security_analyst',
    'Looks for vulnerabilities and unsafe practices.',
    { security: 0.9, review: 0.6, code: 0.4 },
    'quality',
  ),
  entry(
    'performance_optimizer',
    'Measures and improves speed and resource use.',
    { performance: 0.9, code: 0.7, debugging: 0.5 },
    'balanced',
  ),
  entry(
    'documentation_writer',
    'Writes guides, references and change notes.',
    { documentation: 0.9, research: 0.4 },
    'cost',
  ),
  entry(
    'researcher',
    'Gathers and summarises information.',
    { research: 0.9, documentation: 0.5, planning: 0.3 },
    'cost',
  ),
  entry('deployer', 'Builds, releases and rolls back deployments.', { deploy: 0.9, testing: 0.4 }, 'latency'),
];

const byType = new Map(agentCatalogue.map((e) => [e.type, e]));

/** Every agent type a registration may name. */
export const knownAgentTypes: readonly string[] = [...agentCatalogue.map((e) => e.type), GENERIC_AGENT_TYPE];

/** The catalogue entry of `type`; undefined for 'generic' and unknown types. */
export const catalogueEntry = (type: string): CatalogueEntry | undefined => byType.get(type);

/** Every capability some catalogue type offers by default. */
export const catalogueCapabilities: ReadonlySet<string> = new Set(
  agentCatalogue.flatMap((e) => e.capabilities.map((c) => c.name)),
);

const levelOf = (e: CatalogueEntry, capability: string): number =>
  e.capabilities.find((c) => c.name === capability)?.level ?? 0;

/**
 * The catalogue type best suited to work needing `capabilities`: the one with the highest total
 * proficiency in them (ties go to the earlier entry). Undefined when no type offers any of them.
 */
export function bestCatalogueEntry(capabilities: readonly string[]): CatalogueEntry | undefined {
  let best: CatalogueEntry | undefined;
  let bestScore = 0;
  for (const e of agentCatalogue) {
    const score = capabilities.reduce((sum, c) => sum + levelOf(e, c), 0);
    if (score > bestScore) {
      best = e;
      bestScore = score;
    }
  }
  return best;
}

/** How work needing `capabilities` is routed: the preferences of the best-suited catalogue type. */
export const routingFor = (capabilities: readonly string[]): RoutingPreferences =>
  bestCatalogueEntry(capabilities)?.routing ?? DEFAULT_ROUTING;

/** The catalogue as a Markdown table (the body of docs/agent-catalogue.md). */
export function catalogueTable(): string {
  const rows = agentCatalogue.map((e) => {
    const caps = e.capabilities.map((c) => `${c.name} ${c.level}`).join(', ');
    const w = e.routing.weights;
    const weights = `capability ${w.capability}, success ${w.success}, latency ${w.latency}, cost ${w.cost}, load ${w.load}`;
    return `| \`${e.type}\` | ${e.description} | ${caps} | ${e.routing.emphasis} | ${weights} |`;
  });
  return [
    '| Type | Role | Default capabilities (level) | Routing emphasis | Weighted-selection weights |',
    '| --- | --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
}
