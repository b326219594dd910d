// The services the stack runs, in start order, with their ports. Shared by the stack runner
// and docs; k8s/ and docker-compose.yml mirror it.
export const services = [
  {
    name: 'coordination',
    entry: 'services/coordination/dist/main.js',
    ready: (env) => `http://127.0.0.1:${env.COORDINATION_OPS_PORT}/health/ready`,
  },
  {
    name: 'distribution',
    entry: 'services/distribution/dist/main.js',
    ready: (env) => `http://127.0.0.1:${env.DISTRIBUTION_OPS_PORT}/health/ready`,
  },
  {
    name: 'resources',
    entry: 'services/resources/dist/main.js',
    ready: (env) => `http://127.0.0.1:${env.RESOURCES_OPS_PORT}/health/ready`,
  },
  {
    name: 'conflicts',
    entry: 'services/conflicts/dist/main.js',
    ready: (env) => `http://127.0.0.1:${env.CONFLICTS_OPS_PORT}/health/ready`,
  },
  {
    name: 'analytics',
    entry: 'services/analytics/dist/main.js',
    ready: (env) => `http://127.0.0.1:${env.ANALYTICS_OPS_PORT}/health/ready`,
  },
  {
    name: 'gateway',
    entry: 'services/gateway/dist/main.js',
    ready: (env) => `http://127.0.0.1:${env.GATEWAY_PORT}/health/ready`,
  },
  {
    // Simulated agents for the demo; it registers them through the gateway with the admin key.
    name: 'agent-runner',
    entry: 'services/agent-runner/dist/main.js',
    args: ['--config', 'infra/stack/demo-fleet.yaml'],
    env: (env) => ({
      ORCH_GATEWAY_URL: `http://127.0.0.1:${env.GATEWAY_PORT}`,
      ORCH_OPERATOR_KEY: env.ORCH_ADMIN_KEY,
    }),
  },
];

export const defaultPorts = {
  GATEWAY_PORT: '8080',
  COORDINATION_OPS_PORT: '9101',
  DISTRIBUTION_OPS_PORT: '9102',
  RESOURCES_OPS_PORT: '9103',
  CONFLICTS_OPS_PORT: '9104',
  ANALYTICS_OPS_PORT: '9105',
};
