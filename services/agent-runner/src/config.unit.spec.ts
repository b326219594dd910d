import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { agentNames, loadRunnerConfig, parseRunnerConfig, RunnerConfigError } from './config';

const minimal = {
  gateway: { url: 'http://127.0.0.1:8080', apiKey: 'operator-key' },
  agents: [{ name: 'coder', provider: 'p', model: 'm', capabilities: ['coding'], executor: { kind: 'sim' } }],
};

/** The problems of a config that must be rejected. */
function problemsOf(raw: unknown, env: NodeJS.ProcessEnv = {}): readonly string[] {
  try {
    parseRunnerConfig(raw, env);
  } catch (err) {
    if (err instanceof RunnerConfigError) return err.problems;
    throw err;
  }
  throw new Error('the config was accepted');
}

const withAgent = (agent: Record<string, unknown>) => ({
  ...minimal,
  agents: [{ ...minimal.agents[0], ...agent }],
});

describe('runner config', () => {
  it('fills in the defaults', () => {
    const config = parseRunnerConfig(minimal, {});
    expect(config.polling).toEqual({ waitMs: 20_000, heartbeatIntervalMs: 5_000, shutdownGraceMs: 30_000 });
    expect(config.agents[0]).toMatchObject({
      maxConcurrency: 1,
      costPer1kInputTokens: 0,
      executor: {
        kind: 'sim',
        durationMs: { dist: 'fixed', ms: 0 },
        failureRate: 0,
        changesRequestedRate: 0,
      },
    });
  });

  it('takes a bare number as a fixed duration', () => {
    const config = parseRunnerConfig(withAgent({ executor: { kind: 'sim', durationMs: 250 } }), {});
    expect(config.agents[0]?.executor).toMatchObject({ durationMs: { dist: 'fixed', ms: 250 } });
  });

  it('names the path of every problem', () => {
    const problems = problemsOf({
      gateway: { url: 'not a url', apiKey: '' },
      agents: [
        { name: 'a', provider: 'p', model: 'm', capabilities: ['x'], executor: { kind: 'docker' } },
        {
          name: 'b',
          provider: 'p',
          model: 'm',
          capabilities: ['x'],
          executor: { kind: 'sim', failureRate: 1.5 },
        },
        {
          name: 'c',
          provider: 'p',
          model: 'm',
          capabilities: ['x'],
          executor: { kind: 'shell' },
          colour: 'red',
        },
      ],
    });
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^gateway\.url: must be an http\(s\) URL/),
        expect.stringMatching(/^gateway\.apiKey: must not be empty/),
        expect.stringMatching(/^agents\[0\]\.executor\.kind: .*'sim' \| 'shell' \| 'llm'/),
        expect.stringMatching(/^agents\[1\]\.executor\.failureRate: must be between 0 and 1/),
        expect.stringMatching(/^agents\[2\]\.executor\.command: /),
        expect.stringMatching(/^agents\[2\]: Unrecognized key: "colour"/),
      ]),
    );
  });

  it('checks distribution parameters', () => {
    expect(
      problemsOf(withAgent({ executor: { kind: 'sim', durationMs: { dist: 'uniform', min: 5, max: 1 } } })),
    ).toEqual(['agents[0].executor.durationMs.max: min must not exceed max']);
    expect(
      problemsOf(withAgent({ executor: { kind: 'sim', durationMs: { dist: 'gamma', shape: 2 } } })),
    ).toEqual([
      "agents[0].executor.durationMs.dist: Invalid discriminator value. Expected 'fixed' | 'uniform' | 'exponential' | 'normal'",
    ]);
  });

  it('needs capabilities or a type', () => {
    expect(problemsOf(withAgent({ capabilities: undefined }))).toEqual([
      'agents[0].capabilities: give capabilities, or a type to use as the capability',
    ]);
    expect(parseRunnerConfig(withAgent({ capabilities: undefined, type: 'coder' }), {}).agents[0]?.type).toBe(
      'coder',
    );
  });

  it('refuses an llm key given twice', () => {
    const llm = { kind: 'llm', baseUrl: 'http://127.0.0.1:1/v1', model: 'm', apiKey: 'k', apiKeyEnv: 'K' };
    expect(problemsOf(withAgent({ executor: llm }))).toEqual([
      'agents[0].executor.apiKeyEnv: give apiKey or apiKeyEnv, not both',
    ]);
  });

  it('refuses two agents with the same name, replicas included', () => {
    const config = {
      ...minimal,
      agents: [
        { ...minimal.agents[0], name: 'coder', count: 2 },
        { ...minimal.agents[0], name: 'coder-2' },
      ],
    };
    expect(problemsOf(config)).toEqual(['agents[1].name: agent name "coder-2" is used twice']);
  });

  it('names replicas -1..-n', () => {
    expect(agentNames('coder', 3)).toEqual(['coder-1', 'coder-2', 'coder-3']);
    expect(agentNames('coder', undefined)).toEqual(['coder']);
  });

  it('replaces ${VAR} and ${VAR:-default} from the environment', () => {
    const config = parseRunnerConfig(
      { ...minimal, gateway: { url: '${GW_URL:-http://127.0.0.1:9}', apiKey: 'Bearer-${KEY}' } },
      { KEY: 'secret' },
    );
    expect(config.gateway).toEqual({ url: 'http://127.0.0.1:9', apiKey: 'Bearer-secret' });
  });

  it('names an unset variable and where it is used', () => {
    expect(problemsOf({ ...minimal, gateway: { url: 'http://x', apiKey: '${ORCH_OPERATOR_KEY}' } })).toEqual([
      'gateway.apiKey: environment variable ORCH_OPERATOR_KEY is not set',
    ]);
  });

  describe('files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'runner-config-'));
    const file = (name: string, content: string): string => {
      const path = join(dir, name);
      writeFileSync(path, content);
      return path;
    };

    it('loads the example fleet', () => {
      const config = loadRunnerConfig(join(__dirname, '../examples/sim-fleet.yaml'), {
        ORCH_OPERATOR_KEY: 'k',
      });
      expect(config.agents.map((a) => a.executor.kind)).toContain('sim');
      expect(new Set(config.agents.map((a) => a.provider)).size).toBeGreaterThanOrEqual(2);
    });

    it('loads JSON', () => {
      expect(loadRunnerConfig(file('fleet.json', JSON.stringify(minimal)), {}).agents).toHaveLength(1);
    });

    it('reports a YAML syntax error with the file and line', () => {
      const path = file('broken.yaml', 'gateway: [1, 2\nagents: 3\n');
      expect(() => loadRunnerConfig(path, {})).toThrow(RunnerConfigError);
      expect(() => loadRunnerConfig(path, {})).toThrow(new RegExp(`${path}[\\s\\S]*line 2`));
    });

    it('reports a missing file', () => {
      expect(() => loadRunnerConfig(join(dir, 'absent.yaml'), {})).toThrow(/absent\.yaml[\s\S]*ENOENT/);
    });
  });
});
