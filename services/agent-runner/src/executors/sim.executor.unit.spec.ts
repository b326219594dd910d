import { TaskFailure } from '@orch/agent-sdk';
import { parseRunnerConfig, type DurationDistribution, type SimExecutorConfig } from '../config';
import { drawDuration, seededRandom } from './random';
import { createSimExecutor } from './sim.executor';
import { aContext, anAssignment } from './testing';

const agent = { name: 'sim-1', costPer1kInputTokens: 0.01, costPer1kOutputTokens: 0.02 };

/** A sim executor config as the schema fills it in. */
function simConfig(executor: Record<string, unknown>): SimExecutorConfig {
  const config = parseRunnerConfig(
    {
      gateway: { url: 'http://127.0.0.1:1', apiKey: 'k' },
      agents: [{ name: 'a', provider: 'p', model: 'm', type: 't', executor: { kind: 'sim', ...executor } }],
    },
    {},
  );
  return config.agents[0]?.executor as SimExecutorConfig;
}

function mean(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

describe('seeded random', () => {
  it('repeats its sequence for the same seed and differs for another', () => {
    const draw = (seed: number | string) => Array.from({ length: 5 }, seededRandom(seed));
    expect(draw(42)).toEqual(draw(42));
    expect(draw('nightly')).toEqual(draw('nightly'));
    expect(draw(42)).not.toEqual(draw(43));
    expect(draw(42).every((x) => x >= 0 && x < 1)).toBe(true);
  });
});

describe('duration distributions', () => {
  const draws = (dist: DurationDistribution, n = 20_000) => {
    const random = seededRandom(7);
    return Array.from({ length: n }, () => drawDuration(dist, random));
  };

  it.each<[DurationDistribution, number]>([
    [{ dist: 'fixed', ms: 120 }, 120],
    [{ dist: 'uniform', min: 100, max: 300 }, 200],
    [{ dist: 'exponential', mean: 250 }, 250],
    [{ dist: 'normal', mean: 500, stddev: 50 }, 500],
  ])('%j has the expected mean', (dist, expected) => {
    expect(mean(draws(dist))).toBeCloseTo(expected, -1); // within 5 ms
  });

  it('keeps uniform draws within bounds', () => {
    const values = draws({ dist: 'uniform', min: 100, max: 300 });
    expect(Math.min(...values)).toBeGreaterThanOrEqual(100);
    expect(Math.max(...values)).toBeLessThan(300);
  });

  it('has the standard deviation of a normal distribution and never goes below 0', () => {
    const values = draws({ dist: 'normal', mean: 500, stddev: 50 });
    const sd = Math.sqrt(mean(values.map((v) => (v - 500) ** 2)));
    expect(sd).toBeGreaterThan(48);
    expect(sd).toBeLessThan(52);
    expect(Math.min(...draws({ dist: 'normal', mean: 10, stddev: 100 }))).toBe(0);
  });

  it('gives the same draws for the same seed', () => {
    expect(draws({ dist: 'exponential', mean: 100 }, 50)).toEqual(
      draws({ dist: 'exponential', mean: 100 }, 50),
    );
  });
});

describe('sim executor', () => {
  it('answers work with a result and usage priced by the agent cost model', async () => {
    const run = createSimExecutor(simConfig({ seed: 1 }), agent);
    const { output, usage } = await run(anAssignment({ key: 'build', type: 'code' }), aContext());
    expect(output).toMatchObject({ result: 'simulated code build', simulated: true, durationMs: 0 });
    expect(usage?.inputTokens).toBeGreaterThan(0);
    expect(usage?.costUsd).toBeCloseTo(
      (usage!.inputTokens / 1000) * 0.01 + (usage!.outputTokens / 1000) * 0.02,
      6,
    );
  });

  it('is reproducible for a seed', async () => {
    const outputs = async () => {
      const run = createSimExecutor(
        simConfig({ seed: 'replay', failureRate: 0.3, durationMs: { dist: 'uniform', min: 0, max: 3 } }),
        agent,
      );
      const results = [];
      for (let i = 0; i < 20; i++)
        results.push(await run(anAssignment(), aContext()).catch((e: unknown) => String(e)));
      return results;
    };
    expect(await outputs()).toEqual(await outputs());
  });

  it('fails at about failureRate, retryably', async () => {
    const run = createSimExecutor(simConfig({ seed: 3, failureRate: 0.3 }), agent);
    const outcomes = await Promise.all(
      Array.from({ length: 2000 }, () =>
        run(anAssignment(), aContext()).then(
          () => 'ok',
          (e: unknown) => e,
        ),
      ),
    );
    const failures = outcomes.filter((o) => o !== 'ok');
    expect(failures.length / outcomes.length).toBeGreaterThan(0.27);
    expect(failures.length / outcomes.length).toBeLessThan(0.33);
    expect(failures[0]).toBeInstanceOf(TaskFailure);
    expect(failures[0]).toMatchObject({ retryable: true, message: 'simulated failure (failureRate 0.3)' });
  });

  it('reviews: approves, or asks for changes with comments at changesRequestedRate', async () => {
    const run = createSimExecutor(simConfig({ seed: 4, changesRequestedRate: 0.4 }), agent);
    const review = anAssignment({ role: 'review', reviewOf: 'impl', round: 2 });
    const outputs = await Promise.all(
      Array.from({ length: 1000 }, () => run(review, aContext()).then((r) => r.output)),
    );
    const changes = outputs.filter((o) => o['verdict'] === 'changes_requested');
    expect(outputs.every((o) => o['verdict'] === 'approved' || o['verdict'] === 'changes_requested')).toBe(
      true,
    );
    expect(changes.length / outputs.length).toBeGreaterThan(0.35);
    expect(changes.length / outputs.length).toBeLessThan(0.45);
    expect(changes[0]?.['comments']).toEqual(['round 2: handle the error cases of impl']);
  });

  it('plans with the task hints of its input when there are any', async () => {
    const hints = [
      { id: 'a', type: 'code' },
      { id: 'b', type: 'test', dependsOn: ['a'] },
    ];
    const run = createSimExecutor(simConfig({ seed: 5 }), agent);
    const { output } = await run(
      anAssignment({ role: 'plan', key: 'plan', input: { goal: 'x', tasks: hints } }),
      aContext(),
    );
    expect(output['plan']).toEqual({ tasks: hints });
  });

  it('makes up a fan-out/fan-in plan keyed by its own task otherwise', async () => {
    const run = createSimExecutor(simConfig({ seed: 6, planCapabilities: ['coding', 'testing'] }), agent);
    const { output } = await run(anAssignment({ role: 'plan', key: 'plan' }), aContext());
    const tasks = (
      output['plan'] as { tasks: { id: string; dependsOn?: string[]; capabilities?: string[] }[] }
    ).tasks;
    const steps = tasks.slice(0, -1);
    const last = tasks.at(-1);
    expect(steps.length).toBeGreaterThanOrEqual(2);
    expect(steps.length).toBeLessThanOrEqual(4);
    expect(new Set(tasks.map((t) => t.id)).size).toBe(tasks.length);
    expect(tasks.every((t) => t.id.startsWith('plan-'))).toBe(true);
    expect(last?.dependsOn).toEqual(steps.map((s) => s.id));
    expect(steps.map((s) => s.capabilities?.[0])).toEqual(steps.map((_, i) => ['coding', 'testing'][i % 2]));
  });

  it('answers supervision with done', async () => {
    const run = createSimExecutor(simConfig({ seed: 7 }), agent);
    await expect(run(anAssignment({ role: 'supervise', round: 1 }), aContext())).resolves.toMatchObject({
      output: { done: true },
    });
  });

  it('is interrupted by its signal, retryably', async () => {
    const run = createSimExecutor(simConfig({ durationMs: 60_000 }), agent);
    const controller = new AbortController();
    const running = run(anAssignment(), aContext(controller));
    controller.abort(new Error('the agent is stopping'));
    await expect(running).rejects.toMatchObject({
      retryable: true,
      message: 'interrupted: the agent is stopping',
    });
  });
});
