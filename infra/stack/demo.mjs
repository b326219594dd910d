// A short demo through the public HTTP API: watch the live event stream, register a small fleet,
// list it. Every step goes gateway -> NATS -> coordination -> event store -> relay -> JetStream.
const fleet = [
  {
    name: 'planner-1',
    provider: 'anthropic',
    model: 'claude-large',
    type: 'planner',
    capabilities: [{ name: 'planning', level: 0.9 }],
  },
  {
    name: 'coder-1',
    provider: 'openai',
    model: 'gpt-large',
    type: 'coder',
    capabilities: [
      { name: 'code', level: 0.9 },
      { name: 'tests', level: 0.6 },
    ],
  },
  { name: 'reviewer-1', provider: 'local', model: 'llama-70b', type: 'reviewer', capabilities: ['review'] },
];

async function call(base, key, method, path, body) {
  const res = await fetch(base + path, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  const json = text ? JSON.parse(text) : undefined;
  if (!res.ok) throw new Error(`${method} ${path} -> ${res.status}: ${json?.detail ?? text}`);
  return json;
}

/** Reads the SSE stream until `count` events of `type` arrived or the timeout passes. */
async function watch(base, key, type, count, timeoutMs, onEvent) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  const seen = [];
  try {
    const res = await fetch(`${base}/api/events/stream?types=${type}`, {
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
        seen.push(event);
        onEvent(event);
        if (seen.length >= count) return seen;
      }
    }
  } catch (e) {
    if (e.name !== 'AbortError') throw e;
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
  return seen;
}

export async function runDemo({ base, adminKey, log }) {
  log('demo: watching the live event stream for AgentRegistered');
  const watching = watch(base, adminKey, 'AgentRegistered', fleet.length, 15_000, (e) =>
    log(
      `demo: event #${e.globalPosition} ${e.type} ${e.data.name} (${e.data.provider}/${e.data.model}) stream ${e.streamId}`,
    ),
  );
  await new Promise((r) => setTimeout(r, 300));
  const ids = [];
  for (const agent of fleet) {
    const { id } = await call(base, adminKey, 'POST', '/api/agents', { ...agent, maxConcurrency: 2 });
    ids.push(id);
    log(`demo: registered ${agent.name} as ${id}`);
  }
  const events = await watching;
  if (events.length < fleet.length)
    throw new Error(`only ${events.length} of ${fleet.length} AgentRegistered events arrived on the stream`);
  // The read model is eventually consistent: wait until it serves each new agent.
  const shown = [];
  for (const id of ids) {
    for (let i = 0; ; i++) {
      const res = await fetch(`${base}/api/agents/${id}`, {
        headers: { authorization: `Bearer ${adminKey}` },
      });
      if (res.ok) {
        const agent = await res.json();
        shown.push(`${agent.name} [${agent.status}, ${agent.capabilities.map((c) => c.name).join('+')}]`);
        break;
      }
      if (i >= 40)
        throw new Error(`agent ${id} did not appear in GET /api/agents/${id} (last status ${res.status})`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  log(`demo: the read model serves ${shown.join(', ')}`);

  const analysis = await call(base, adminKey, 'POST', '/api/workflows/analyze', {
    tasks: [
      { id: 'design', type: 'planner', estimatedDurationMs: 600_000 },
      { id: 'code', type: 'coder', dependsOn: ['design'] },
      { id: 'tests', type: 'tester', dependsOn: ['design'] },
      { id: 'review', type: 'reviewer', dependsOn: ['code', 'tests'] },
      { id: 'docs', type: 'documentation', dependsOn: ['design'] },
    ],
  });
  if (!analysis.valid)
    throw new Error(`the demo workflow was judged invalid: ${JSON.stringify(analysis.problems)}`);
  log(
    `demo: workflow analysis: levels ${analysis.levels.map((l) => `[${l.join(', ')}]`).join(' -> ')}, ` +
      `critical path ${analysis.criticalPath.join(' -> ')} (${analysis.estimates.durationMs / 60_000} min), ` +
      `parallelism ${analysis.parallelism}`,
  );
}
