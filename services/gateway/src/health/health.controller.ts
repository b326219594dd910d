import { Controller, Get, Inject, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { HealthRegistry, metricsText, type ServiceMetrics } from '@orch/observability';
import type { FastifyReply } from 'fastify';
import { Public } from '../auth/access';
import { METRICS } from '../tokens';

/**
 * Probes and metrics, without authentication. /metrics is meant for the cluster network only:
 * in production expose it through an internal port or block it at the ingress (docs/adr/0006).
 */
@ApiExcludeController()
@Public()
@Controller()
export class HealthController {
  constructor(
    @Inject(HealthRegistry) private readonly health: HealthRegistry,
    @Inject(METRICS) private readonly metrics: ServiceMetrics,
  ) {}

  @Get('health/live')
  live() {
    return this.health.live();
  }

  @Get('health/ready')
  async ready(@Res() reply: FastifyReply): Promise<void> {
    const report = await this.health.ready();
    await reply.code(report.status === 'ok' ? 200 : 503).send(report);
  }

  @Get('metrics')
  async scrape(@Res() reply: FastifyReply): Promise<void> {
    const { contentType, body } = await metricsText(this.metrics.registry);
    await reply.type(contentType).send(body);
  }
}
