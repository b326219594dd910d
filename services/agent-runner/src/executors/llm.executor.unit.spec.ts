import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { TaskFailure } from '@orch/agent-sdk';
import { freePort } from '@orch/testing';
import type { LlmExecutorConfig } from '../config';
import { createLlmExecutor } from './llm.executor';
import { aContext, anAssignment } from './testing';

interface ChatRequest {
  readonly authorization: string | undefined;
  readonly path: string;
  readonly body: { model: string; temperature: number; messages: { role: string; content: string }[] };
}

/** A stand-in for an OpenAI-compatible endpoint that answers what the test scripted. */
class FakeLlm {
  readonly requests: ChatRequest[] = [];
  answer: { status: number; body: string } = chat('hello');

  private readonly server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      this.requests.push({
        authorization: req.headers.authorization,
        path: req.url ?? '',
        body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as ChatRequest['body'],
      });
      res.writeHead(this.answer.status, { 'content-type': 'application/json' }).end(this.answer.body);
    });
  });

  static async start(): Promise<FakeLlm> {
    const fake = new FakeLlm();
    await new Promise<void>((resolve) => fake.server.listen(0, '127.0.0.1', resolve));
    return fake;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1`;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** A chat completion answer with `content`. */
function chat(
  content: string,
  usage = { prompt_tokens: 1200, completion_tokens: 300 },
): { status: number; body: string } {
  return {
    status: 200,
    body: JSON.stringify({ choices: [{ index: 0, message: { role: 'assistant', content } }], usage }),
  };
}

const agent = { name: 'llm-1', costPer1kInputTokens: 0.003, costPer1kOutputTokens: 0.015 };

describe('llm executor', () => {
  let llm: FakeLlm;
  beforeEach(async () => {
    llm = await FakeLlm.start();
  });
  afterEach(() => llm.close());

  const executor = (extra: Partial<LlmExecutorConfig> = {}, env: NodeJS.ProcessEnv = {}) =>
    createLlmExecutor(
      {
        kind: 'llm',
        baseUrl: llm.url,
        model: 'gpt-test',
        temperature: 0.2,
        timeoutMs: 5_000,
        apiKey: 'sk-test',
        ...extra,
      },
      agent,
      env,
    );

  it('posts a chat completion built from the assignment and completes with the answer and priced usage', async () => {
    llm.answer = chat('Implemented the parser.');
    const assignment = anAssignment({
      goal: 'ship the parser',
      description: 'write it',
      input: { file: 'parser.ts' },
    });
    const result = await executor({ systemPrompt: 'Be brief.' })(assignment, aContext());

    expect(result.output).toEqual({ result: 'Implemented the parser.', model: 'gpt-test' });
    expect(result.usage).toEqual({ inputTokens: 1200, outputTokens: 300, costUsd: 0.0081 });
    const [request] = llm.requests;
    expect(request?.path).toBe('/v1/chat/completions');
    expect(request?.authorization).toBe('Bearer sk-test');
    expect(request?.body.model).toBe('gpt-test');
    expect(request?.body.temperature).toBe(0.2);
    expect(request?.body.messages[0]).toEqual({ role: 'system', content: 'Be brief.' });
    const userPrompt = request?.body.messages[1]?.content ?? '';
    expect(userPrompt).toContain('Goal: ship the parser');
    expect(userPrompt).toContain('Your role: work');
    expect(userPrompt).toContain('Description: write it');
    expect(userPrompt).toContain('"file": "parser.ts"');
  });

  it('reads the key from apiKeyEnv', async () => {
    await executor({ apiKey: undefined, apiKeyEnv: 'LLM_KEY' }, { LLM_KEY: 'from-env' })(
      anAssignment(),
      aContext(),
    );
    expect(llm.requests[0]?.authorization).toBe('Bearer from-env');
    expect(() => executor({ apiKey: undefined, apiKeyEnv: 'LLM_KEY' }, {})).toThrow(
      'environment variable LLM_KEY',
    );
  });

  describe('plan role', () => {
    const plan = {
      plan: {
        tasks: [
          { id: 'a', type: 'code' },
          { id: 'b', type: 'test', dependsOn: ['a'] },
        ],
      },
    };

    it('asks for JSON and completes with the plan', async () => {
      llm.answer = chat(JSON.stringify(plan));
      const { output } = await executor()(anAssignment({ role: 'plan' }), aContext());
      expect(output).toMatchObject(plan);
      expect(llm.requests[0]?.body.messages[1]?.content).toContain('{"plan": {"tasks"');
    });

    it('takes the plan from a fenced json block', async () => {
      llm.answer = chat(
        `Here is the plan:\n\n\`\`\`json\n${JSON.stringify(plan, null, 2)}\n\`\`\`\nGood luck!`,
      );
      const { output } = await executor()(anAssignment({ role: 'plan' }), aContext());
      expect(output['plan']).toEqual(plan.plan);
    });

    it.each([
      [
        'a task without a type',
        '{"plan": {"tasks": [{"id": "a"}]}}',
        'plan.tasks.0.type: Invalid input: expected string, received undefined',
      ],
      [
        'two tasks with one id',
        '{"plan": {"tasks": [{"id": "a", "type": "x"}, {"id": "a", "type": "y"}]}}',
        'plan.tasks.1.id: duplicate task id "a"',
      ],
      ['no tasks', '{"plan": {"tasks": []}}', 'plan.tasks: must hold at least one task'],
      [
        'no plan',
        '{"tasks": [{"id": "a", "type": "x"}]}',
        'plan: Invalid input: expected object, received undefined',
      ],
    ])('fails retryably, naming what is wrong, for %s', async (_case, answer, problem) => {
      llm.answer = chat(answer);
      const err = await executor()(anAssignment({ role: 'plan' }), aContext()).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TaskFailure);
      expect(err).toMatchObject({
        retryable: true,
        message: `the answer is not a plan ({"plan": {"tasks": [...]}}): ${problem}`,
      });
    });

    it('fails retryably when the answer holds no JSON', async () => {
      llm.answer = chat('I would start by writing the parser.');
      await expect(executor()(anAssignment({ role: 'plan' }), aContext())).rejects.toMatchObject({
        retryable: true,
        message: expect.stringContaining('it holds no JSON (it starts "I would start'),
      });
    });
  });

  describe('supervise role', () => {
    it('completes with done', async () => {
      llm.answer = chat('```json\n{"done": true}\n```');
      await expect(executor()(anAssignment({ role: 'supervise' }), aContext())).resolves.toMatchObject({
        output: { done: true },
      });
    });

    it('completes with a new plan', async () => {
      llm.answer = chat('{"plan": {"tasks": [{"id": "fix", "type": "code"}]}}');
      const { output } = await executor()(anAssignment({ role: 'supervise', round: 1 }), aContext());
      expect(output['plan']).toEqual({ tasks: [{ id: 'fix', type: 'code' }] });
    });

    it('refuses "not done" without a plan', async () => {
      llm.answer = chat('{"done": false}');
      await expect(executor()(anAssignment({ role: 'supervise' }), aContext())).rejects.toMatchObject({
        retryable: true,
        message: expect.stringContaining('the answer is not {"done": true} or a new plan'),
      });
    });
  });

  it('completes a review with its verdict', async () => {
    llm.answer = chat('{"verdict": "changes_requested", "comments": ["add tests"]}');
    const { output } = await executor()(anAssignment({ role: 'review', reviewOf: 'impl' }), aContext());
    expect(output).toMatchObject({ verdict: 'changes_requested', comments: ['add tests'] });
    expect(llm.requests[0]?.body.messages[1]?.content).toContain('Reviewing the output of task: impl');
  });

  it('fails retryably with the status and body on a 500', async () => {
    llm.answer = { status: 500, body: '{"error": {"message": "overloaded"}}' };
    await expect(executor()(anAssignment(), aContext())).rejects.toMatchObject({
      retryable: true,
      message: `LLM endpoint ${llm.url}/chat/completions answered 500: {"error": {"message": "overloaded"}}`,
    });
  });

  it('fails retryably on garbage', async () => {
    llm.answer = { status: 200, body: '<html>maintenance</html>' };
    await expect(executor()(anAssignment(), aContext())).rejects.toMatchObject({
      retryable: true,
      message: expect.stringContaining('a body that is not JSON: <html>maintenance</html>'),
    });
    llm.answer = { status: 200, body: '{"id": "x"}' };
    await expect(executor()(anAssignment(), aContext())).rejects.toMatchObject({
      retryable: true,
      message: expect.stringContaining('without choices[0].message.content'),
    });
  });

  it('fails retryably when the endpoint refuses the connection', async () => {
    const port = await freePort();
    const run = createLlmExecutor(
      { kind: 'llm', baseUrl: `http://127.0.0.1:${port}/v1`, model: 'm', temperature: 0, timeoutMs: 5_000 },
      agent,
      {},
    );
    await expect(run(anAssignment(), aContext())).rejects.toMatchObject({
      retryable: true,
      message: expect.stringMatching(
        /^LLM endpoint http:\/\/127\.0\.0\.1:\d+\/v1\/chat\/completions: unreachable \(.*ECONNREFUSED/,
      ),
    });
  });
});
