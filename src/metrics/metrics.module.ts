import { Module } from '@nestjs/common';
import { RollupsModule } from '../rollups/rollups.module.js';
import { ActivitySeriesReader } from './activity-series.reader.js';
import { ExportService } from './export/export.service.js';
import { MetricsController } from './metrics.controller.js';
import { MetricsRepository } from './metrics.repository.js';
import { MetricsService } from './metrics.service.js';
import { SystemMetricsReader } from './system-metrics.reader.js';

@Module({
  imports: [RollupsModule],
  controllers: [MetricsController],
  providers: [MetricsService, MetricsRepository, SystemMetricsReader, ExportService, ActivitySeriesReader],
  exports: [MetricsService, MetricsRepository, SystemMetricsReader, ActivitySeriesReader],
})
export class MetricsModule {}
