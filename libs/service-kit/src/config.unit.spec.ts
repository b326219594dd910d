import { z } from 'zod';
import { baseServiceConfig, identifier, logLevel, opsPortFields, parseConfig } from './config';

const schema = z.object({
  ...baseServiceConfig,
  WIDGETS_SCHEMA: identifier.default('widgets'),
  ...opsPortFields('WIDGETS', 9199),
  LOG_LEVEL: logLevel,
});
const load = (env: Record<string, string>) => parseConfig(schema, env, 'widgets');

describe('a service configuration built from the shared fields', () => {
  it('defaults every variable when the environment is empty', () => {
    expect(load({})).toEqual({
      DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/orchestrator',
      NATS_URL: 'nats://127.0.0.1:4222',
      ORCH_NAMESPACE: '',
      EVENTSTORE_SCHEMA: 'eventstore',
      WIDGETS_SCHEMA: 'widgets',
      WIDGETS_OPS_PORT: 9199,
      WIDGETS_OPS_HOST: '0.0.0.0',
      LOG_LEVEL: 'info',
    });
  });

  it('reads the variables it is given, coercing the ops port to a number', () => {
    const config = load({
      DATABASE_URL: 'postgres://u:p@db:5433/x',
      NATS_URL: 'nats://nats:4222',
      ORCH_NAMESPACE: 'team-a_1',
      EVENTSTORE_SCHEMA: 'es_2',
      WIDGETS_OPS_PORT: '0',
      WIDGETS_OPS_HOST: '127.0.0.1',
      LOG_LEVEL: 'silent',
    });
    expect(config).toMatchObject({
      DATABASE_URL: 'postgres://u:p@db:5433/x',
      NATS_URL: 'nats://nats:4222',
      ORCH_NAMESPACE: 'team-a_1',
      EVENTSTORE_SCHEMA: 'es_2',
      WIDGETS_OPS_PORT: 0,
      WIDGETS_OPS_HOST: '127.0.0.1',
      LOG_LEVEL: 'silent',
    });
  });

  it('names every invalid variable, in the order of the schema, after the service name', () => {
    const run = () =>
      load({
        LOG_LEVEL: 'loud',
        WIDGETS_OPS_PORT: '65536',
        EVENTSTORE_SCHEMA: '9lives',
        ORCH_NAMESPACE: 'a.b',
        DATABASE_URL: 'not a url',
      });
    expect(run).toThrow(
      /^invalid widgets configuration: DATABASE_URL: [^;]+; ORCH_NAMESPACE: [^;]+; EVENTSTORE_SCHEMA: [^;]+; WIDGETS_OPS_PORT: [^;]+; LOG_LEVEL: [^;]+$/,
    );
  });

  it('puts the message of zod after each variable name', () => {
    expect(() => load({ WIDGETS_OPS_PORT: '-1' })).toThrow(
      'invalid widgets configuration: WIDGETS_OPS_PORT: Too small: expected number to be >=0',
    );
  });

  it.each(['1abc', 'Upper', 'dash-ed', ''])('refuses %j as a schema identifier', (name) => {
    expect(() => load({ WIDGETS_SCHEMA: name })).toThrow(/^invalid widgets configuration: WIDGETS_SCHEMA: /);
  });

  it('joins nested paths with dots', () => {
    const nested = z.object({ pool: z.object({ size: z.number() }) });
    expect(() => parseConfig(nested, { pool: { size: 'x' } }, 'nested')).toThrow(
      /^invalid nested configuration: pool\.size: /,
    );
  });
});

describe('opsPortFields', () => {
  it('names the port and host after the prefix', () => {
    expect(Object.keys(opsPortFields('BILLING', 1))).toEqual(['BILLING_OPS_PORT', 'BILLING_OPS_HOST']);
  });

  it('bounds the port to 0..65535 and defaults it to the given port', () => {
    const ops = z.object(opsPortFields('X', 1234));
    expect(ops.parse({})).toEqual({ X_OPS_PORT: 1234, X_OPS_HOST: '0.0.0.0' });
    expect(ops.parse({ X_OPS_PORT: '65535' }).X_OPS_PORT).toBe(65535);
    expect(ops.safeParse({ X_OPS_PORT: '65536' }).success).toBe(false);
    expect(ops.safeParse({ X_OPS_PORT: '1.5' }).success).toBe(false);
  });
});
