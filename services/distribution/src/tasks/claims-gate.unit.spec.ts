import { taskSpec, workflowDecider, type Workflow, type WorkflowState } from '@orch/distribution';
import { allocateRequest } from './claims-gate';

const at = new Date('2026-11-21T10:00:00Z');
const policy = {
  defaultTimeoutMs: 60_000,
  defaultMaxAttempts: 3,
  retryBaseMs: 10,
  retryMaxMs: 100,
  maxTasks: 10,
};
const agent = { agentId: 'a1', provider: 'anthropic', labels: { region: 'eu' } };

/** A submitted swarm workflow of one task with a lock claim, with the session's conflict policy. */
function workflow(conflictPolicy?: string): Workflow {
  const initial: WorkflowState = workflowDecider.initialState();
  const events = workflowDecider.decide(
    {
      type: 'SubmitWorkflow',
      sessionId: 's-1',
      goal: 'g',
      pattern: 'swarm',
      patternReason: '',
      roles: { soloAgentId: '', driverAgentId: '', navigatorAgentId: '', supervisorAgentId: '' },
      agentIds: [],
      strategy: 'weighted',
      maxRounds: 0,
      ...(conflictPolicy === undefined ? {} : { conflictPolicy }),
      tasks: [
        taskSpec({
          key: 'a',
          type: 'coder',
          priority: 7,
          claims: [{ lock: 'repo:acme/api', mode: 'shared' }],
        }),
      ],
      policy,
      at,
    },
    initial,
  );
  return events.reduce(workflowDecider.evolve, initial) as Workflow;
}

describe('the allocation request of an attempt', () => {
  it("carries the session's conflict policy with the task's claims, priority, age and agent", () => {
    const wf = workflow('preempt');
    const task = [...wf.tasks.values()][0]!;
    const request = allocateRequest(wf, task, 2, agent);
    expect(request).toMatchObject({
      taskId: task.taskId,
      attempt: 2,
      sessionId: 's-1',
      priority: 7,
      policy: 'preempt',
      claims: [{ lock: 'repo:acme/api', mode: 'shared', pool: '', amount: 0 }],
      agent: { agentId: 'a1', provider: 'anthropic', labels: { region: 'eu' } },
    });
    expect(request.requestedAt?.seconds).toBe(BigInt(at.getTime() / 1000));
  });

  it('asks for no override when the session chose none', () => {
    const wf = workflow();
    expect(allocateRequest(wf, [...wf.tasks.values()][0]!, 1, agent).policy).toBe('');
  });

  it('asks for no override for a workflow recorded before sessions could choose a policy', () => {
    const { conflictPolicy: _, ...before } = workflow('manual');
    const wf = before as Workflow;
    expect(allocateRequest(wf, [...wf.tasks.values()][0]!, 1, agent).policy).toBe('');
  });
});
