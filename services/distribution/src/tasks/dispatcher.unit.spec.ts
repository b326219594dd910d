import { create, type Message } from '@bufbuild/protobuf';
import { AgentAssignmentSchema, type CommandTypeInfo } from '@orch/contracts';
import {
  taskSpec,
  workflowDecider,
  type Workflow,
  type WorkflowCommand,
  type WorkflowState,
} from '@orch/distribution';
import { IllegalStateError } from '@orch/domain-kit';
import type { CommandBus } from '@orch/messaging';
import { testLogger } from '@orch/messaging/testing';
import { createMetrics } from '@orch/observability';
import { eventually } from '@orch/testing';
import type { DistributionModuleOptions } from '../tokens';
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

describe('Dispatcher', () => {
  let host: FakeHost;
  let bus: FakeBus;
  let dispatcher: Dispatcher;

  beforeEach(() => {
    host = new FakeHost();
    bus = new FakeBus();
    const metrics = createMetrics({ service: 'test', defaultMetrics: false });
    dispatcher = new Dispatcher(
      host as unknown as WorkflowHost,
      bus as unknown as CommandBus,
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
});
