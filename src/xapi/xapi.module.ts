import { MiddlewareConsumer, Module, NestModule } from '@nestjs/common';
import { EventsModule } from '../events/events.module.js';
import { XapiStats } from './xapi-stats.js';
import { XapiVersionMiddleware } from './xapi-version.middleware.js';
import { XapiController } from './xapi.controller.js';
import { XapiRepository } from './xapi.repository.js';
import { XapiService } from './xapi.service.js';

@Module({
  imports: [EventsModule],
  controllers: [XapiController],
  providers: [XapiService, XapiRepository, XapiStats],
})
export class XapiModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(XapiVersionMiddleware).forRoutes(XapiController);
  }
}
