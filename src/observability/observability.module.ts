import { Global, Module } from '@nestjs/common';
import type { Logger } from 'pino';
import { Clock } from '../common/clock.js';
import { AppConfig } from '../config/app-config.js';
import { createLogger } from './logger.js';
import { MetricsAccessGuard } from './metrics-access.guard.js';
import { PrometheusExporter } from './prometheus-exporter.js';
import { PrometheusController } from './prometheus.controller.js';
import { RequestMetrics } from './request-metrics.js';

export const PINO_LOGGER = Symbol('PINO_LOGGER');

@Global()
@Module({
  controllers: [PrometheusController],
  providers: [
    Clock,
    RequestMetrics,
    PrometheusExporter,
    MetricsAccessGuard,
    {
      provide: PINO_LOGGER,
      inject: [AppConfig],
      useFactory: (config: AppConfig): Logger =>
        createLogger({ level: config.LOG_LEVEL, serviceName: config.SERVICE_NAME, pretty: config.logFormat === 'pretty' }),
    },
  ],
  exports: [Clock, RequestMetrics, PrometheusExporter, PINO_LOGGER],
})
export class ObservabilityModule {}
