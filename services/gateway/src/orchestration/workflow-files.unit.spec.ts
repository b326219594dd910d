import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { validateDag } from '@orch/distribution';
import { parse } from 'yaml';
import { StartSessionBodySchema } from './orchestration.schemas';

const dir = join(__dirname, '../../../../examples/workflows');
const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));

describe('the workflow files in examples/workflows', () => {
  it('are there: a feature, a bug triage and a research fan-out', () => {
    expect(files.sort()).toEqual(['bug-triage.yaml', 'feature.yaml', 'research-fanout.yaml']);
  });

  it.each(files)('%s is a valid session request with an acyclic DAG', (file) => {
    const parsed = StartSessionBodySchema.safeParse(parse(readFileSync(join(dir, file), 'utf8')));
    expect(parsed.error?.issues ?? []).toEqual([]);
    const tasks = parsed.data?.tasks ?? [];
    expect(tasks.length).toBeGreaterThanOrEqual(5);
    expect(validateDag(tasks.map((t) => ({ id: t.id, dependsOn: t.dependsOn ?? [] })))).toEqual([]);
  });
});
