// The demo `npm start` ends with, through the public HTTP API only: the simulated fleet started by
// the agent-runner (infra/stack/demo-fleet.yaml) registers, examples/workflows/feature.yaml is
// analysed and then run as a pair session (a driver writes, a navigator reviews, changes are
// requested now and then), and its events are followed live on the SSE stream until it completes.
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

const FLEET_SIZE = 9; // agents in infra/stack/demo-fleet.yaml
const WORKFLOW = new URL('../../examples/workflows/feature.yaml', import.meta.url);
const DEMO_POOLS = [
  { id: 'anthropic-rpm', kind: 'rate', capacity: 600, window: '1m', scope: 'provider:anthropic' },
  { id: 'demo-budget', kind: 'budget', capacity: 25, unit: 'usd', window: '1d', scope: 'global' },
];

async function call(base, key, method, path, body, contentType = 'application/json') {
  const res = await fetch(base + path, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': contentType } : {}) },
    body: body === undefined ? undefined : contentType === 'application/json' ? JSON.stringify(body) : body,
  });
  const text = await res.text();
  const json = text ? JSON.parse(text) : undefined;
  if (!res.ok) throw new Error(`${method} ${path} -> ${res.status}: ${json?.detail ?? text}`);
  return json;
}

/** Follows the SSE stream of one session (from its first event) until `until(event)` or the timeout. */
async function follow(base, key, sessionId, timeoutMs, onEvent, until) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    const res = await fetch(`${base}/api/events/stream?sessionId=${sessionId}&lastEventId=0`, {
      headers: { authorization: `Bearer ${key}`, accept: 'text/event-stream' },
      signal: controller.signal,
    });
    if (!res.ok) throw new Error(`event stream answered ${res.status}`);
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const chunk of res.body) {
      buffer += decoder.decode(chunk, { stream: true });
      let end;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = frame
          .split('\n')
          .filter((l) => l.startsWith('data:'))
          .map((l) => l.slice(5).trim())
          .join('\n');
        if (!data) continue;
        const event = JSON.parse(data);
        onEvent(event);
        if (until(event)) return event;
      }
    }
  } catch (e) {
    if (e.name !== 'AbortError') throw e;
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
  return undefined;
}

async function waitForFleet(base, key, log) {
  for (let i = 0; ; i++) {
    const { items } = await call(base, key, 'GET', '/api/agents?limit=500');
    const live = items.filter((a) => a.status !== 'offline');
    if (live.length >= FLEET_SIZE) return live;
    if (i >= 120)
      throw new Error(
        `only ${live.length} of ${FLEET_SIZE} demo agents registered; see .orch/logs/agent-runner.log`,
      );
    if (i === 0) log('demo: waiting for the simulated fleet (agent-runner) to register ...');
    await new Promise((r) => setTimeout(r, 250));
  }
}

const pct = (x) => (x == null ? 'n/a' : `${(x * 100).toFixed(0)}%`);
const ms = (x) => (x == null ? 'n/a' : `${Math.round(x)} ms`);

/** The session's figures once analytics has folded its end (it follows the log a moment behind). */
async function sessionMetrics(base, key, sessionId) {
  for (let i = 0; i < 50; i++) {
    const res = await fetch(`${base}/api/analytics/metrics?sessionId=${sessionId}`, {
      headers: { authorization: `Bearer ${key}` },
    });
    const body = res.ok ? await res.json() : (await res.text(), undefined);
    const session = body?.data?.session;
    if (session && session.status !== 'running' && session.counts?.succeeded > 0) return session;
    await new Promise((r) => setTimeout(r, 200));
  }
  return undefined;
}

export async function runDemo({ base, adminKey, log }) {
  const fleet = await waitForFleet(base, adminKey, log);
  const names = new Map(fleet.map((a) => [a.id, a.name]));
  const who = (id) => names.get(id) ?? id?.slice(0, 8) ?? '?';
  log(
    `demo: fleet of ${fleet.length}: ` +
      fleet
        .map((a) => `${a.name} (${a.provider}: ${a.capabilities.map((c) => c.name).join('+')})`)
        .join(', '),
  );

  const yaml = readFileSync(WORKFLOW, 'utf8');
  const workflow = parse(yaml);
  const analysis = await call(base, adminKey, 'POST', '/api/workflows/analyze', {
    tasks: workflow.tasks.map(({ id, type, dependsOn, capabilities, estimatedDurationMs }) => ({
      id,
      type,
      dependsOn,
      capabilities,
      estimatedDurationMs,
    })),
  });
  log(
    `demo: examples/workflows/feature.yaml: levels ${analysis.levels.map((l) => `[${l.join(', ')}]`).join(' -> ')}, ` +
      `critical path ${analysis.criticalPath.join(' -> ')}, parallelism ${analysis.parallelism}`,
  );

  // What the fleet shares: a provider rate limit and a budget. The workflow's tasks also claim
  // locks on the paths they edit, so the two that touch src/auth never run at once.
  for (const pool of DEMO_POOLS) {
    await call(base, adminKey, 'POST', '/api/resources/pools', pool).catch((err) => {
      if (!String(err.message).includes('-> 409')) throw err; // defined by an earlier run
    });
  }
  log(
    `demo: pools ${DEMO_POOLS.map((p) => `${p.id} (${p.kind} ${p.capacity}${p.window ? `/${p.window}` : ''}, ${p.scope})`).join(', ')}`,
  );

  const started = await call(base, adminKey, 'POST', '/api/orchestration/sessions', yaml, 'application/yaml');
  const roles = Object.entries(started.roles)
    .map(([role, id]) => `${role.replace(/AgentId$/, '')}=${who(id)}`)
    .join(', ');
  log(`demo: session ${started.sessionId} started, pattern ${started.pattern} (${roles})`);
  log(
    `demo: watch it live:  curl -N -H "Authorization: Bearer $ORCH_ADMIN_KEY" "${base}/api/events/stream?sessionId=${started.sessionId}"`,
  );
  log(
    `demo: or its state:   curl -H "Authorization: Bearer $ORCH_ADMIN_KEY" ${base}/api/orchestration/sessions/${started.sessionId}`,
  );

  const keys = new Map();
  const key = (d) => keys.get(d.taskId) ?? d.taskId?.slice(0, 8);
  const t0 = Date.now();
  const line = (text) => log(`demo: ${String(((Date.now() - t0) / 1000).toFixed(1)).padStart(5)} s  ${text}`);
  const describe = {
    TaskSubmitted: (d) => {
      keys.set(d.taskId, d.spec.key);
      return d.role === 'review' ? `review of ${d.reviewOf} (round ${d.round}) added` : undefined;
    },
    TaskAssigned: (d) =>
      `${key(d)} -> ${who(d.agentId)} (attempt ${d.attempt}, ${d.selection?.strategy ?? ''})`,
    TaskSucceeded: (d) =>
      `${key(d)} done by ${who(d.agentId)}${d.output?.verdict ? `: ${d.output.verdict.replace('_', ' ')}` : ''}`,
    TaskFailed: (d) => `${key(d)} failed on ${who(d.agentId)}: ${d.error}`,
    TaskRetryScheduled: (d) => `${key(d)} retried in ${d.delayMs} ms`,
    TaskWaiting: (d) => `${key(d)} waits for ${d.waitingFor}: ${d.reason}`,
    TaskResumed: (d) => `${key(d)} resumed (${d.reason})`,
    TaskPreempted: (d) => `${key(d)} preempted: ${d.reason}`,
    TaskReopened: (d) => `${key(d)} reopened for round ${d.round}`,
    WorkflowCompleted: () => 'session completed',
    WorkflowFailed: (d) => `session failed: ${d.reason}`,
  };
  const end = await follow(
    base,
    adminKey,
    started.sessionId,
    120_000,
    (e) => {
      const text = describe[e.type]?.(e.data);
      if (text) line(text);
    },
    (e) => e.type === 'WorkflowCompleted' || e.type === 'WorkflowFailed' || e.type === 'WorkflowCancelled',
  );
  if (!end)
    throw new Error(
      `the demo session did not finish within 2 minutes; see ${base}/api/orchestration/sessions/${started.sessionId}`,
    );

  const session = await call(base, adminKey, 'GET', `/api/orchestration/sessions/${started.sessionId}`);
  const reviews = session.tasks.filter((t) => t.role === 'review').length;
  log(
    `demo: session ${session.status}: ${session.tasks.length} tasks (${reviews} reviews), ` +
      `${Object.entries(session.counts)
        .map(([s, n]) => `${n} ${s}`)
        .join(', ')}`,
  );
  if (session.status !== 'completed')
    throw new Error(`the demo session ended ${session.status}: ${session.reason}`);
  const { items: pools } = await call(base, adminKey, 'GET', '/api/resources/pools');
  log(
    `demo: pools now: ` +
      pools
        .filter((p) => DEMO_POOLS.some((d) => d.id === p.id))
        .map((p) =>
          p.kind === 'budget'
            ? `${p.id} ${p.spent.toFixed(4)} of ${p.capacity} ${p.unit} spent`
            : `${p.id} ${Math.floor(p.available)} of ${p.capacity} available`,
        )
        .join(', '),
  );
  // The session as analytics sees it, and whether today's deciders decide its history the same way.
  const verify = await call(base, adminKey, 'POST', `/api/sessions/${started.sessionId}/replay/verify`);
  log(
    verify.divergences.length === 0
      ? `demo: replay verify: no divergence (${verify.checked} decisions decided again)`
      : `demo: replay verify: ${verify.divergences.length} divergences: ${verify.divergences[0].reason}`,
  );
  const metrics = await sessionMetrics(base, adminKey, started.sessionId);
  if (metrics)
    log(
      `demo: analytics: success rate ${pct(metrics.successRate)}, queue wait p50 ${ms(metrics.queueWaitMs?.p50)} ` +
        `p99 ${ms(metrics.queueWaitMs?.p99)}, run time p50 ${ms(metrics.runTimeMs?.p50)}, cost $${metrics.costUsd.toFixed(4)}`,
    );
  log(
    `demo: replay it as a timeline:  node services/cli/dist/main.js replay ${started.sessionId} --key $(cat .orch/admin-key)`,
  );
  log(
    'demo: more workflows to try: examples/workflows/*.yaml (POST them with Content-Type: application/yaml)',
  );
}
