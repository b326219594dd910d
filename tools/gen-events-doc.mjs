// Generates docs/events.md from proto/: every event (subject, schema version, fields) and every
// command/query (subject, reply). proto/ is the single source of truth; `npm run proto:check`
// fails when this file is stale.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createFileRegistry, fromBinary, getOption, hasOption, ScalarType } from '@bufbuild/protobuf';
import { FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';
import { getComments } from '@bufbuild/protoplugin';

const root = new URL('..', import.meta.url).pathname;
const bin = join(root, 'node_modules', '.bin', 'buf');
const bytes = execFileSync(bin, ['build', '-o', '-#format=binpb'], {
  cwd: join(root, 'proto'),
  maxBuffer: 64 << 20,
});
const registry = createFileRegistry(fromBinary(FileDescriptorSetSchema, bytes));
const eventExt = registry.getExtension('orchestrator.v1.event');
const commandExt = registry.getExtension('orchestrator.v1.command');

const scalar = (t) => ScalarType[t].toLowerCase();
function typeOf(field) {
  switch (field.fieldKind) {
    case 'scalar':
      return scalar(field.scalar);
    case 'enum':
      return field.enum.typeName;
    case 'message':
      return field.message.typeName;
    case 'list':
      return `repeated ${field.listKind === 'scalar' ? scalar(field.scalar) : (field.message ?? field.enum).typeName}`;
    case 'map':
      return `map<${scalar(field.mapKey)}, ${field.mapKind === 'scalar' ? scalar(field.scalar) : (field.message ?? field.enum).typeName}>`;
  }
  return '?';
}
const oneLine = (s) => (s ?? '').replace(/\s+/g, ' ').trim();
const fieldTable = (msg) =>
  [
    '| field (JSON) | type | notes |',
    '| --- | --- | --- |',
    ...msg.fields.map((f) => `| \`${f.jsonName}\` | \`${typeOf(f)}\` | ${oneLine(getComments(f).leading)} |`),
  ].join('\n');

const files = [...registry.files]
  .filter((f) => f.name.startsWith('orchestrator/'))
  .sort((a, b) => a.name.localeCompare(b.name));
const events = [];
const commands = [];
for (const file of files) {
  for (const msg of file.messages) {
    if (hasOption(msg, eventExt)) events.push({ msg, opt: getOption(msg, eventExt) });
    if (hasOption(msg, commandExt)) commands.push({ msg, opt: getOption(msg, commandExt) });
  }
}

const out = [];
out.push('# Events and commands', '');
out.push(
  '<!-- Generated from proto/ by tools/gen-events-doc.mjs (npm run proto:generate). Do not edit. -->',
  '',
);
out.push(
  'Events are facts published on NATS JetStream, in the stream `EVENTS`, on the subject',
  '`events.<service>.<type>`. Every message is an `orchestrator.v1.EventEnvelope` in protobuf binary:',
  'the event metadata (see below) and the payload as a `google.protobuf.Any`. Headers repeat what a',
  'subscriber needs for routing without decoding: `Nats-Msg-Id` (= eventId, JetStream de-duplication),',
  '`Orch-Event-Type`, `Orch-Global-Position`, `Orch-Stream-Id`, `Orch-Correlation-Id`, `Orch-Causation-Id`,',
  'and the W3C `traceparent`/`tracestate`.',
  '',
  'Delivery is at least once: subscribers de-duplicate by `eventId` (libs/messaging has an',
  'idempotent-consumer helper that does it in the same transaction as the read-model change).',
  'Within one stream (aggregate) events arrive in `streamVersion` order; across streams, in global',
  'position order per publishing service. A breaking change to a payload is a new message with a',
  'new `schemaVersion`, never an edit of an existing one.',
  '',
  'See examples/event-subscriber for a durable consumer that starts at a chosen position and resumes',
  'after a restart.',
  '',
);
out.push('## Event index', '', '| subject | schema version | summary |', '| --- | --- | --- |');
for (const { msg, opt } of events) {
  out.push(`| \`events.${opt.service}.${msg.name}\` | ${opt.schemaVersion || 1} | ${oneLine(opt.summary)} |`);
}
out.push('');
for (const { msg, opt } of events) {
  out.push(`### ${msg.name}`, '');
  out.push(
    `Subject \`events.${opt.service}.${msg.name}\`, payload \`${msg.typeName}\`, schema version ${opt.schemaVersion || 1}.`,
    '',
  );
  if (opt.summary) out.push(oneLine(opt.summary), '');
  out.push(fieldTable(msg), '');
}
out.push('## Commands and queries', '');
out.push(
  'Served over NATS request/reply on `cmd.<service>.<name>` with a queue group per service, so any',
  'replica answers. The request is an `orchestrator.v1.CommandEnvelope`, the reply an',
  '`orchestrator.v1.CommandReply` holding either the reply message or an `ErrorReply` whose `code`',
  'the gateway maps to an HTTP status.',
  '',
  '| subject | request | reply | summary |',
  '| --- | --- | --- | --- |',
);
for (const { msg, opt } of commands) {
  out.push(
    `| \`cmd.${opt.service}.${opt.name || msg.name}\` | \`${msg.typeName}\` | \`${opt.reply}\` | ${oneLine(opt.summary)} |`,
  );
}
out.push('');
const envelope = registry.getMessage('orchestrator.v1.EventMetadata');
out.push('## Event metadata', '', fieldTable(envelope), '');
const text = out.join('\n');
if (process.argv.includes('--stdout')) process.stdout.write(text);
else writeFileSync(join(root, 'docs', 'events.md'), text);
