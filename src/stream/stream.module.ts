import { Global, Module } from '@nestjs/common';
import { ApiKeysModule } from '../api-keys/api-keys.module.js';
import { AuthModule } from '../auth/auth.module.js';
import { MetricsModule } from '../metrics/metrics.module.js';
import { ActivityChannel } from './activity-channel.js';
import { LiveDashboards } from './live-dashboards.js';
import { MetricsStreamController } from './metrics-stream.controller.js';
import { MetricsStreamService } from './metrics-stream.service.js';
import { StreamSlots } from './stream-slots.js';

/** GET /metrics/stream. Global for ActivityChannel: the events service announces each stored batch through it. */
@Global()
@Module({
  imports: [AuthModule, ApiKeysModule, MetricsModule],
  controllers: [MetricsStreamController],
  providers: [ActivityChannel, StreamSlots, LiveDashboards, MetricsStreamService],
  exports: [ActivityChannel, LiveDashboards],
})
export class StreamModule {}
