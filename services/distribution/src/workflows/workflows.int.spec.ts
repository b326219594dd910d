import { create } from '@bufbuild/protobuf';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { AnalyzeWorkflowSchema, commandInfo, type WorkflowAnalysis } from '@orch/contracts';
import { CommandBus, naming } from '@orch/messaging';
import { deleteStreams, testLogger } from '@orch/messaging/testing';
import { testDatabaseUrl, testNatsUrl, uniqueName } from '@orch/testing';
import { Client } from 'pg';
import { startDistribution, type DistributionService } from '../app';
import { loadConfig } from '../config';

const ANALYZE = commandInfo('distribution.AnalyzeWorkflow');

describe('workflow analysis over NATS', () => {
  const namespace = uniqueName('dist');
  const eventStoreSchema = uniqueName('es');
  const schema = uniqueName('distribution');
  let service: DistributionService;
  let nc: NatsConnection;
  let bus: CommandBus;

  beforeAll(async () => {
    service = await startDistribution(
      loadConfig({
        DATABASE_URL: testDatabaseUrl(),
        EVENTSTORE_SCHEMA: eventStoreSchema,
        DISTRIBUTION_SCHEMA: schema,
        NATS_URL: testNatsUrl(),
        ORCH_NAMESPACE: namespace,
        DISTRIBUTION_OPS_PORT: '0',
        DISTRIBUTION_OPS_HOST: '127.0.0.1',
        DISTRIBUTION_MAX_TASKS: '50',
      }),
      { logger: testLogger() },
    );
    nc = await connect({ servers: testNatsUrl() });
    bus = new CommandBus(nc, naming(namespace));
  });
  afterAll(async () => {
    await service?.close();
    await deleteStreams(nc, naming(namespace));
    await nc?.close();
    const pg = new Client({ connectionString: testDatabaseUrl() });
    await pg.connect();
    await pg.query(`DROP SCHEMA IF EXISTS "${eventStoreSchema}" CASCADE`);
    await pg.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await pg.end();
  });

  const analyze = (
    tasks: { id: string; type?: string; dependsOn?: string[]; estimatedDurationMs?: bigint }[],
  ) =>
    bus.request<WorkflowAnalysis>(
      ANALYZE,
      create(AnalyzeWorkflowSchema, { tasks: tasks.map((t) => ({ type: 'coder', ...t })) }),
      { correlationId: 'test' },
    );

  it('analyses a valid workflow', async () => {
    const analysis = await analyze([
      { id: 'design', estimatedDurationMs: 5_000n },
      { id: 'code', dependsOn: ['design'] },
      { id: 'tests', dependsOn: ['design'] },
      { id: 'review', dependsOn: ['code', 'tests'] },
    ]);
    expect(analysis.valid).toBe(true);
    expect(analysis.levels.map((l) => l.taskIds)).toEqual([['design'], ['code', 'tests'], ['review']]);
    expect(analysis.criticalPath).toEqual(['design', 'code', 'review']);
    expect(analysis.parallelism).toBe(2);
    expect(analysis.estimates).toMatchObject({ durationMs: 125_000n, totalWorkMs: 185_000n });
  });

  it('reports a cycle with its path', async () => {
    const analysis = await analyze([
      { id: 'a', dependsOn: ['c'] },
      { id: 'b', dependsOn: ['a'] },
      { id: 'c', dependsOn: ['b'] },
    ]);
    expect(analysis.valid).toBe(false);
    expect(analysis.cycle).toEqual(['a', 'c', 'b', 'a']);
    expect(analysis.problems[0]).toMatchObject({
      kind: 'cycle',
      message: 'dependency cycle: a -> c -> b -> a',
    });
  });

  it('applies the configured size limit', async () => {
    const analysis = await analyze(Array.from({ length: 51 }, (_, i) => ({ id: `t${i}` })));
    expect(analysis.problems).toEqual([expect.objectContaining({ kind: 'too_many_tasks' })]);
  });

  it('is ready once connected', async () => {
    const res = await fetch(`${service.ops.url}/health/ready`);
    expect(res.status).toBe(200);
  });
});
