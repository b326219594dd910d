import { createRegistry, getOption, hasOption, type DescMessage, type Registry } from '@bufbuild/protobuf';
import type { GenFile } from '@bufbuild/protobuf/codegenv2';
import { file_orchestrator_coordination_v1_agents } from './gen/orchestrator/coordination/v1/agents_pb';
import { file_orchestrator_coordination_v1_sessions } from './gen/orchestrator/coordination/v1/sessions_pb';
import { file_orchestrator_distribution_v1_tasks } from './gen/orchestrator/distribution/v1/tasks_pb';
import { file_orchestrator_v1_orchestration } from './gen/orchestrator/v1/orchestration_pb';
import { file_orchestrator_distribution_v1_workflows } from './gen/orchestrator/distribution/v1/workflows_pb';
import { file_orchestrator_resources_v1_resources } from './gen/orchestrator/resources/v1/resources_pb';
import { file_orchestrator_conflicts_v1_conflicts } from './gen/orchestrator/conflicts/v1/conflicts_pb';
import { file_orchestrator_analytics_v1_analytics } from './gen/orchestrator/analytics/v1/analytics_pb';
import { command, event, file_orchestrator_v1_options } from './gen/orchestrator/v1/options_pb';
import { file_orchestrator_v1_envelope } from './gen/orchestrator/v1/envelope_pb';

/** Every generated file; add new proto files here so their messages join the registry. */
export const protoFiles: readonly GenFile[] = [
  file_orchestrator_v1_options,
  file_orchestrator_v1_envelope,
  file_orchestrator_v1_orchestration,
  file_orchestrator_coordination_v1_agents,
  file_orchestrator_coordination_v1_sessions,
  file_orchestrator_distribution_v1_workflows,
  file_orchestrator_distribution_v1_tasks,
  file_orchestrator_resources_v1_resources,
  file_orchestrator_conflicts_v1_conflicts,
  file_orchestrator_analytics_v1_analytics,
];

/** A domain event type, as declared in proto/ with the `(orchestrator.v1.event)` option. */
export interface EventTypeInfo {
  /** Simple message name, also the `type` recorded in the store, e.g. "AgentRegistered". */
  readonly type: string;
  readonly service: string;
  readonly schemaVersion: number;
  readonly summary: string;
  /** JetStream subject the relay publishes it on. */
  readonly subject: string;
  readonly schema: DescMessage;
}

/** A command or query served over NATS request/reply, declared with `(orchestrator.v1.command)`. */
export interface CommandTypeInfo {
  readonly name: string;
  readonly service: string;
  readonly summary: string;
  readonly subject: string;
  readonly schema: DescMessage;
  readonly reply: DescMessage;
}

/** Resolves `google.protobuf.Any` payloads and JSON of every message in proto/. */
export const protoRegistry: Registry = createRegistry(...protoFiles);

/** Subject on which events of `type`, owned by `service`, are published. */
export const eventSubject = (service: string, type: string): string => `events.${service}.${type}`;

/** Subject on which `service` serves the command or query `name`. */
export const commandSubject = (service: string, name: string): string => `cmd.${service}.${name}`;

function collect(): { events: Map<string, EventTypeInfo>; commands: Map<string, CommandTypeInfo> } {
  const events = new Map<string, EventTypeInfo>();
  const commands = new Map<string, CommandTypeInfo>();
  for (const file of protoFiles) {
    for (const schema of file.messages) {
      if (hasOption(schema, event)) {
        const opt = getOption(schema, event);
        if (events.has(schema.name)) throw new Error(`event type ${schema.name} is declared twice in proto/`);
        events.set(schema.name, {
          type: schema.name,
          service: opt.service,
          schemaVersion: opt.schemaVersion || 1,
          summary: opt.summary,
          subject: eventSubject(opt.service, schema.name),
          schema,
        });
      }
      if (hasOption(schema, command)) {
        const opt = getOption(schema, command);
        const reply = protoRegistry.getMessage(opt.reply);
        if (!reply) throw new Error(`command ${schema.typeName} names unknown reply ${opt.reply}`);
        const name = opt.name || schema.name;
        commands.set(`${opt.service}.${name}`, {
          name,
          service: opt.service,
          summary: opt.summary,
          subject: commandSubject(opt.service, name),
          schema,
          reply,
        });
      }
    }
  }
  return { events, commands };
}

const collected = collect();

/** Event types by simple name. */
export const eventTypes: ReadonlyMap<string, EventTypeInfo> = collected.events;
/** Commands and queries by `<service>.<name>`. */
export const commandTypes: ReadonlyMap<string, CommandTypeInfo> = collected.commands;

/**
 * The command or query `<service>.<name>` as proto/ declares it. Throws when none does: handlers
 * and senders look theirs up at module load, so a misspelt name stops the service from starting.
 */
export function commandInfo(name: string): CommandTypeInfo {
  const info = commandTypes.get(name);
  if (!info) throw new Error(`proto/ declares no command ${name}`);
  return info;
}

/** The event type named `type`, or undefined when no proto declares it. */
export const findEventType = (type: string): EventTypeInfo | undefined => eventTypes.get(type);
