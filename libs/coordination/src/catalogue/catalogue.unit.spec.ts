import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  DEFAULT_ROUTING,
  agentCatalogue,
  bestCatalogueEntry,
  catalogueCapabilities,
  catalogueEntry,
  catalogueTable,
  knownAgentTypes,
  routingFor,
} from './catalogue';

describe('the agent catalogue', () => {
  it('has the ten agent types, each with its signature capability', () => {
    const signature: Record<string, string> = {
      planner: 'planning',
      coder: 'code',
      reviewer: 'review',
      tester: 'testing',
      debugger: 'debugging',
      security_analyst: 'security',
      performance_optimizer: 'performance',
      documentation_writer: 'documentation',
      researcher: 'research',
      deployer: 'deploy',
    };
    expect(agentCatalogue.map((e) => e.type).sort()).toEqual(Object.keys(signature).sort());
    for (const [type, capability] of Object.entries(signature)) {
      expect(catalogueEntry(type)?.capabilities.map((c) => c.name)).toContain(capability);
    }
  });

  it('accepts generic besides the catalogue types', () => {
    expect(knownAgentTypes).toContain('generic');
    expect(catalogueEntry('generic')).toBeUndefined();
  });

  it('gives every type valid levels and weights', () => {
    for (const e of agentCatalogue) {
      for (const c of e.capabilities) expect(c.level > 0 && c.level <= 1).toBe(true);
      const w = e.routing.weights;
      expect(w.capability + w.success + w.latency + w.cost + w.load).toBeCloseTo(1);
    }
  });

  it('knows every capability of every type', () => {
    for (const e of agentCatalogue)
      for (const c of e.capabilities) expect(catalogueCapabilities.has(c.name)).toBe(true);
    expect(catalogueCapabilities.has('juggling')).toBe(false);
  });

  it('routes work by the type most proficient in its capabilities', () => {
    expect(bestCatalogueEntry(['review'])?.type).toBe('reviewer');
    expect(bestCatalogueEntry(['code', 'debugging'])?.type).toBe('debugger');
    expect(routingFor(['documentation'])).toBe(catalogueEntry('documentation_writer')?.routing);
    expect(routingFor(['juggling'])).toBe(DEFAULT_ROUTING);
    expect(routingFor([])).toBe(DEFAULT_ROUTING);
  });

  it('is documented in docs/agent-catalogue.md, one row per type with its capabilities', () => {
    const doc = readFileSync(join(__dirname, '../../../../docs/agent-catalogue.md'), 'utf8');
    for (const e of agentCatalogue) {
      const row = doc.split('\n').find((line) => line.startsWith(`| \`${e.type}\``));
      expect(row).toBeDefined();
      for (const c of e.capabilities) expect(row).toContain(`${c.name} ${c.level}`);
      expect(row).toContain(e.routing.emphasis);
    }
    expect(catalogueTable().split('\n')).toHaveLength(agentCatalogue.length + 2);
  });
});
