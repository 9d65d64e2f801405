import { Module } from '@nestjs/common';
import { MetricsModule } from '../metrics/metrics.module.js';
import { InsightsController } from './insights.controller.js';
import { InsightsService } from './insights.service.js';

@Module({
  imports: [MetricsModule],
  controllers: [InsightsController],
  providers: [InsightsService],
})
export class InsightsModule {}
