import { Global, Module } from '@nestjs/common';
import type { Logger } from 'pino';
import { Clock } from '../common/clock.js';
import { AppConfig } from '../config/app-config.js';
import { createLogger } from './logger.js';
import { RequestMetrics } from './request-metrics.js';

export const PINO_LOGGER = Symbol('PINO_LOGGER');

@Global()
@Module({
  providers: [
    Clock,
    RequestMetrics,
    {
      provide: PINO_LOGGER,
      inject: [AppConfig],
      useFactory: (config: AppConfig): Logger =>
        createLogger({ level: config.LOG_LEVEL, serviceName: config.SERVICE_NAME, pretty: process.env.LOG_PRETTY === 'true' }),
    },
  ],
  exports: [Clock, RequestMetrics, PINO_LOGGER],
})
export class ObservabilityModule {}
