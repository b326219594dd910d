import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

/** A config that cannot be used, with every problem named by its path (`agents[1].executor.kind: ...`). */
export class RunnerConfigError extends Error {
  override readonly name = 'RunnerConfigError';
  readonly code = 'config';

  constructor(
    readonly source: string,
    readonly problems: readonly string[],
  ) {
    super(`invalid agent-runner config ${source}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

const text = z.string().trim().min(1, 'must not be empty');
const positiveInt = z.number().int().min(1);
const ms = z.number().min(0);
const probability = z.number().min(0, 'must be between 0 and 1').max(1, 'must be between 0 and 1');
/** A number or a string: a string seed is hashed, so runs can be named ("nightly-2024-05-01"). */
const seed = z.union([z.number().int(), text]);

/** A distribution of durations in milliseconds; a bare number means a fixed duration. */
const DurationSchema = z.preprocess(
  (value) => (typeof value === 'number' ? { dist: 'fixed', ms: value } : value),
  z.discriminatedUnion('dist', [
    z.strictObject({ dist: z.literal('fixed'), ms }),
    z
      .strictObject({ dist: z.literal('uniform'), min: ms, max: ms })
      .refine((d) => d.min <= d.max, { message: 'min must not exceed max', path: ['max'] }),
    z.strictObject({ dist: z.literal('exponential'), mean: ms }),
    z.strictObject({ dist: z.literal('normal'), mean: ms, stddev: ms }),
  ]),
);
export type DurationDistribution = z.output<typeof DurationSchema>;

const SimExecutorSchema = z.strictObject({
  kind: z.literal('sim'),
  durationMs: DurationSchema.default({ dist: 'fixed', ms: 0 }),
  /** Chance that an attempt fails (retryable). */
  failureRate: probability.default(0),
  /** Chance that a review asks for changes instead of approving. */
  changesRequestedRate: probability.default(0),
  /** Capabilities given, in turn, to the tasks of a plan the executor makes up itself. */
  planCapabilities: z.array(text).default([]),
  seed: seed.optional(),
});

const ShellExecutorSchema = z.strictObject({
  kind: z.literal('shell'),
  command: text,
  cwd: text.optional(),
  timeoutMs: positiveInt.default(600_000),
  env: z.record(z.string(), z.string()).default({}),
  /** Per stream; the tail is kept. */
  maxOutputBytes: positiveInt.default(1_048_576),
});

const LlmExecutorSchema = z
  .strictObject({
    kind: z.literal('llm'),
    /** OpenAI-compatible API root, e.g. `https://api.openai.com/v1`. */
    baseUrl: z.url({ protocol: /^https?$/, message: 'must be an http(s) URL' }),
    model: text,
    apiKey: text.optional(),
    /** Name of the environment variable holding the key, read when the agent starts. */
    apiKeyEnv: text.optional(),
    temperature: z.number().min(0).max(2).default(0.2),
    systemPrompt: text.optional(),
    timeoutMs: positiveInt.default(120_000),
  })
  .refine((e) => !(e.apiKey && e.apiKeyEnv), {
    message: 'give apiKey or apiKeyEnv, not both',
    path: ['apiKeyEnv'],
  });

const ExecutorSchema = z.discriminatedUnion('kind', [
  SimExecutorSchema,
  ShellExecutorSchema,
  LlmExecutorSchema,
]);
export type ExecutorConfig = z.output<typeof ExecutorSchema>;
export type SimExecutorConfig = z.output<typeof SimExecutorSchema>;
export type ShellExecutorConfig = z.output<typeof ShellExecutorSchema>;
export type LlmExecutorConfig = z.output<typeof LlmExecutorSchema>;

const CapabilitySchema = z.union([text, z.strictObject({ name: text, level: probability })]);

const AgentSchema = z
  .strictObject({
    name: text,
    /** Replicas of this agent, named `<name>-1` .. `<name>-<count>`. */
    count: positiveInt.optional(),
    provider: text,
    model: text,
    type: text.optional(),
    /** Defaults to the agent's `type` as its one capability. */
    capabilities: z.array(CapabilitySchema).min(1).optional(),
    maxConcurrency: positiveInt.default(1),
    labels: z.record(z.string(), z.string()).optional(),
    costPer1kInputTokens: z.number().min(0).default(0),
    costPer1kOutputTokens: z.number().min(0).default(0),
    executor: ExecutorSchema,
  })
  .refine((a) => a.capabilities !== undefined || a.type !== undefined, {
    message: 'give capabilities, or a type to use as the capability',
    path: ['capabilities'],
  });

const RunnerConfigSchema = z
  .strictObject({
    gateway: z.strictObject({
      url: z.url({ protocol: /^https?$/, message: 'must be an http(s) URL' }),
      /** An admin or operator key: it registers the agents. */
      apiKey: text,
    }),
    /** How every agent polls and beats; the defaults suit a real gateway. */
    polling: z
      .strictObject({
        waitMs: z.number().int().min(0).default(20_000),
        heartbeatIntervalMs: positiveInt.default(5_000),
        shutdownGraceMs: z.number().int().min(0).default(30_000),
      })
      .default({ waitMs: 20_000, heartbeatIntervalMs: 5_000, shutdownGraceMs: 30_000 }),
    agents: z.array(AgentSchema).min(1, 'must list at least one agent'),
  })
  .superRefine((config, ctx) => {
    const seen = new Set<string>();
    config.agents.forEach((agent, i) => {
      for (const name of agentNames(agent.name, agent.count)) {
        if (seen.has(name)) {
          ctx.addIssue({
            code: 'custom',
            path: ['agents', i, 'name'],
            message: `agent name "${name}" is used twice`,
          });
        }
        seen.add(name);
      }
    });
  });

export type RunnerConfig = z.output<typeof RunnerConfigSchema>;
export type AgentConfig = RunnerConfig['agents'][number];

/** The names of an agent's replicas: the name itself without `count`, else `<name>-1..n`. */
export function agentNames(name: string, count: number | undefined): string[] {
  return count === undefined ? [name] : Array.from({ length: count }, (_, i) => `${name}-${i + 1}`);
}

/** Reads a YAML or JSON config file; `${VAR}` and `${VAR:-default}` in strings come from `env`. */
export function loadRunnerConfig(file: string, env: NodeJS.ProcessEnv = process.env): RunnerConfig {
  let raw: unknown;
  try {
    const content = readFileSync(file, 'utf8');
    raw = extname(file) === '.json' ? JSON.parse(content) : parseYaml(content);
  } catch (err) {
    throw new RunnerConfigError(file, [err instanceof Error ? err.message : String(err)]);
  }
  return parseRunnerConfig(raw, env, file);
}

/** Validates a config object (as read from a file, or built in a test). */
export function parseRunnerConfig(
  raw: unknown,
  env: NodeJS.ProcessEnv = process.env,
  source = '(object)',
): RunnerConfig {
  const problems: string[] = [];
  const expanded = expandEnv(raw, env, [], problems);
  if (problems.length > 0) throw new RunnerConfigError(source, problems);
  const parsed = RunnerConfigSchema.safeParse(expanded);
  if (!parsed.success) {
    throw new RunnerConfigError(
      source,
      parsed.error.issues.map((issue) => `${formatPath(issue.path) || '(root)'}: ${issue.message}`),
    );
  }
  return parsed.data;
}

/** Replaces `${VAR}` / `${VAR:-default}` in every string; an unset variable without default is a problem. */
function expandEnv(value: unknown, env: NodeJS.ProcessEnv, path: PropertyKey[], problems: string[]): unknown {
  if (typeof value === 'string') {
    return value.replace(
      /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g,
      (_match, name: string, fallback?: string) => {
        const found = env[name];
        if (found !== undefined && found !== '') return found;
        if (fallback !== undefined) return fallback;
        problems.push(`${formatPath(path)}: environment variable ${name} is not set`);
        return '';
      },
    );
  }
  if (Array.isArray(value)) return value.map((item, i) => expandEnv(item, env, [...path, i], problems));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, expandEnv(v, env, [...path, k], problems)]),
    );
  }
  return value;
}

/** `['agents', 1, 'executor']` -> `agents[1].executor`. */
function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (out, part) =>
      typeof part === 'number' ? `${out}[${part}]` : out ? `${out}.${String(part)}` : String(part),
    '',
  );
}
