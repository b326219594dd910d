import { create, type Message } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import {
  AgentAssignmentSchema,
  AllocationResultSchema,
  type AllocationResult,
  type CommandTypeInfo,
} from '@orch/contracts';
import {
  taskSpec,
  workflowDecider,
  type Workflow,
  type WorkflowCommand,
  type WorkflowState,
} from '@orch/distribution';
import { IllegalStateError, NotFoundError } from '@orch/domain-kit';
import type { CommandBus } from '@orch/messaging';
import { testLogger } from '@orch/messaging/testing';
import { createMetrics } from '@orch/observability';
import { eventually } from '@orch/testing';
import type { DistributionModuleOptions } from '../tokens';
import type { ClaimsGate } from './claims-gate';
import { Dispatcher } from './dispatcher';
import { ReadyQueue } from './ready-queue';
import type { WorkflowHost } from './workflow-host';

const sessionId = 's-1';
const now = new Date('2026-11-21T10:00:00Z');
const policy = {
  defaultTimeoutMs: 60_000,
  defaultMaxAttempts: 3,
  retryBaseMs: 10,
  retryMaxMs: 100,
  maxTasks: 10,
};
const options: DistributionModuleOptions = {
  natsUrl: '',
  namespace: '',
  eventStoreSchema: 'es',
  schema: 'd',
  policy,
  dispatch: { concurrency: 4, retryIntervalMs: 3_600_000 },
};

const play = (state: WorkflowState, command: WorkflowCommand): WorkflowState =>
  workflowDecider.decide(command, state).reduce(workflowDecider.evolve, state);
const submitted = play(workflowDecider.initialState(), {
  type: 'SubmitWorkflow',
  sessionId,
  goal: 'g',
  pattern: 'swarm',
  patternReason: '',
  roles: { soloAgentId: '', driverAgentId: '', navigatorAgentId: '', supervisorAgentId: '' },
  agentIds: ['a1', 'a2'],
  strategy: 'least_loaded',
  maxRounds: 0,
  tasks: [taskSpec({ key: 'a', type: 'coder', capabilities: ['code'], priority: 3 })],
  policy,
  at: now,
}) as Workflow;
const [task] = submitted.tasks.values();

/** The parts of WorkflowHost the dispatcher uses, over one workflow; `execute` is the test's to script. */
class FakeHost {
  readonly ready = new ReadyQueue();
  wf: Workflow = submitted;
  execute: (sessionId: string, c: WorkflowCommand) => Promise<unknown> = async (_, c) => {
    this.wf = play(this.wf, c) as Workflow;
  };
  catchUp: () => Promise<boolean> = async () => false;
  private readonly listeners: (() => void)[] = [];

  onReady(listener: () => void): void {
    this.listeners.push(listener);
  }
  workflow(): Workflow {
    return this.wf;
  }
  offerTask(): void {
    this.ready.offer({ sessionId, taskId: task!.taskId, priority: 3, readyAt: now.getTime() });
    for (const l of this.listeners) l();
  }
}

/** coordination over a fake bus: AssignAgent answers from `grant`, ReleaseAgent is recorded. */
class FakeBus {
  grant: () => string | undefined = () => 'a1';
  readonly assignRequests: Message[] = [];
  readonly releases: Message[] = [];
  async request(info: CommandTypeInfo, payload: Message): Promise<Message> {
    if (info.name === 'ReleaseAgent') {
      this.releases.push(payload);
      return payload;
    }
    this.assignRequests.push(payload);
    const agentId = this.grant();
    return create(AgentAssignmentSchema, agentId ? { assigned: true, agentId } : { assigned: false });
  }
}

/** resources as the dispatcher sees it: whether to ask, and the allocator's answer (scripted). */
class FakeClaims {
  needed = false;
  answer: () => Promise<AllocationResult> = async () => create(AllocationResultSchema, { status: 'granted' });
  readonly asked: { attempt: number; agentId: string; provider: string }[] = [];
  readonly released: { taskId: string; attempt: number }[] = [];
  needsClaims(): boolean {
    return this.needed;
  }
  allocate(
    _wf: Workflow,
    _task: unknown,
    attempt: number,
    agent: { agentId: string; provider: string },
  ): Promise<AllocationResult> {
    this.asked.push({ attempt, agentId: agent.agentId, provider: agent.provider });
    return this.answer();
  }
  async release(_sessionId: string, taskId: string, attempt: number): Promise<void> {
    this.released.push({ taskId, attempt });
  }
}

describe('Dispatcher', () => {
  let host: FakeHost;
  let bus: FakeBus;
  let claims: FakeClaims;
  let dispatcher: Dispatcher;

  beforeEach(() => {
    host = new FakeHost();
    bus = new FakeBus();
    claims = new FakeClaims();
    const metrics = createMetrics({ service: 'test', defaultMetrics: false });
    dispatcher = new Dispatcher(
      host as unknown as WorkflowHost,
      bus as unknown as CommandBus,
      claims as unknown as ClaimsGate,
      options,
      { now: () => now },
      metrics,
      testLogger(),
    );
    dispatcher.onApplicationBootstrap();
  });
  afterEach(() => dispatcher.beforeApplicationShutdown());

  const assigned = () => (host.wf.tasks.get(task!.taskId)?.status === 'assigned' ? true : undefined);

  it('asks coordination for an agent of the session and records the assignment with its deadline', async () => {
    host.offerTask();
    await eventually(assigned);
    expect(bus.assignRequests[0]).toMatchObject({
      taskId: task!.taskId,
      attempt: 1,
      sessionId,
      capabilities: ['code'],
      strategy: 'least_loaded',
      agentIds: ['a1', 'a2'],
    });
    expect(host.wf.tasks.get(task!.taskId)).toMatchObject({
      agentId: 'a1',
      attempt: 1,
      deadline: '2026-11-21T10:01:00Z',
    });
  });

  it('keeps a task no agent could take, and offers it again when woken', async () => {
    bus.grant = () => undefined;
    host.offerTask();
    await eventually(() => (bus.assignRequests.length === 1 ? true : undefined));
    bus.grant = () => 'a2';
    dispatcher.wake();
    await eventually(assigned);
    expect(bus.assignRequests).toHaveLength(2);
  });

  it('gives the slot back when the workflow refuses the assignment', async () => {
    host.execute = async () => {
      throw new IllegalStateError('task is assigned, not ready');
    };
    host.offerTask();
    await eventually(() => bus.releases[0]);
    expect(bus.releases[0]).toMatchObject({
      taskId: task!.taskId,
      attempt: 1,
      agentId: 'a1',
      reason: 'task is assigned, not ready',
    });
  });

  it('keeps the slot when an unanswered assignment turns out to be recorded', async () => {
    const record = host.execute;
    host.execute = async (id, c) => {
      await record(id, c);
      throw new Error('connection lost after the commit');
    };
    host.offerTask();
    await eventually(assigned);
    await new Promise((r) => setImmediate(r));
    expect(bus.releases).toEqual([]);
  });

  it('gives the slot back when an unanswered assignment was not recorded, and offers the task again', async () => {
    host.execute = async () => {
      throw new Error('connection lost before the commit');
    };
    host.offerTask();
    await eventually(() => bus.releases[0]);
    expect(bus.releases[0]).toMatchObject({
      agentId: 'a1',
      attempt: 1,
      reason: 'the assignment could not be recorded',
    });
    dispatcher.wake();
    await eventually(() => (bus.assignRequests.length === 2 ? true : undefined));
  });

  it('keeps the slot and offers the task again when the store cannot be read at all', async () => {
    host.execute = async () => {
      throw new Error('store down');
    };
    host.catchUp = async () => {
      throw new Error('store down');
    };
    host.offerTask();
    await eventually(() => (bus.assignRequests.length === 1 ? true : undefined));
    host.execute = async (_, c) => {
      host.wf = play(host.wf, c) as Workflow;
    };
    dispatcher.wake();
    await eventually(assigned);
    expect(bus.releases).toEqual([]);
  });

  it('does not offer a task that stopped being ready', async () => {
    host.wf = play(host.wf, {
      type: 'CancelTask',
      taskId: task!.taskId,
      reason: 'x',
      policy,
      at: now,
    }) as Workflow;
    host.offerTask();
    await new Promise((r) => setImmediate(r));
    expect(bus.assignRequests).toEqual([]);
  });

  describe('with claims', () => {
    const current = () => host.wf.tasks.get(task!.taskId)!;
    beforeEach(() => {
      claims.needed = true;
    });

    it('assigns once resources grants the attempt its claims', async () => {
      host.offerTask();
      await eventually(assigned);
      expect(claims.asked).toEqual([{ attempt: 1, agentId: 'a1', provider: '' }]);
      expect(bus.releases).toEqual([]);
    });

    it('gives the slot back and lets the task wait, with the reason, when its claims are queued', async () => {
      claims.answer = async () =>
        create(AllocationResultSchema, {
          status: 'waiting',
          waitingFor: 'lock',
          reason: 'repo:acme/api is held by task t-9',
          conflictIds: ['c-1'],
        });
      host.offerTask();
      await eventually(() => (current().status === 'waiting' ? true : undefined));
      expect(current()).toMatchObject({
        waitingFor: 'lock',
        waitReason: 'repo:acme/api is held by task t-9',
        conflictId: 'c-1',
        notBefore: '',
      });
      expect(bus.releases[0]).toMatchObject({ agentId: 'a1', attempt: 1 });
    });

    it('waits until the retry time a refusal gives (wait-die)', async () => {
      const retryAt = new Date(now.getTime() + 5_000);
      claims.answer = async () =>
        create(AllocationResultSchema, {
          status: 'refused',
          reason: 'wait-die: an older task holds the lock',
          retryAt: timestampFromDate(retryAt),
        });
      host.offerTask();
      await eventually(() => (current().status === 'waiting' ? true : undefined));
      expect(Date.parse(current().notBefore)).toBe(retryAt.getTime());
      expect(current().waitingFor).toBe('resources');
    });

    it('looks again later at claims the allocator rejects', async () => {
      claims.answer = async () => {
        throw new NotFoundError('pool gpu does not exist');
      };
      host.offerTask();
      await eventually(() => (current().status === 'waiting' ? true : undefined));
      expect(current().waitReason).toContain('pool gpu does not exist');
      expect(Date.parse(current().notBefore)).toBeGreaterThan(now.getTime());
      expect(bus.releases).toHaveLength(1);
    });

    it('leaves the task ready and gives the slot back when resources does not answer', async () => {
      claims.answer = async () => {
        throw new Error('no responders');
      };
      host.offerTask();
      await eventually(() => bus.releases[0]);
      expect(current().status).toBe('ready');
      claims.answer = async () => create(AllocationResultSchema, { status: 'granted' });
      dispatcher.wake();
      await eventually(assigned);
    });

    it('gives the claims back too when the workflow refuses the assignment', async () => {
      host.execute = async () => {
        throw new IllegalStateError('task is cancelled, not ready');
      };
      host.offerTask();
      await eventually(() => claims.released[0]);
      expect(claims.released[0]).toEqual({ taskId: task!.taskId, attempt: 1 });
      expect(bus.releases).toHaveLength(1);
    });
  });
});
