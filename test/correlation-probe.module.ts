import { Body, Controller, Get, Headers, Injectable, Logger, Module, Post, Res } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { Public } from '../src/auth/auth.decorators';
import { requestContextStore } from '../src/correlation/request-context';
import { TooManyRequestsException } from '../src/errors/api-errors';
import { HealthController } from '../src/health/health.controller';
import { HealthModule } from '../src/health/health.module';
import type { TestingModuleBuilder } from '@nestjs/testing';

/** A service that logs while serving a request: its lines must carry the request's ids through the request context. */
@Injectable()
export class ProbeService {
  private readonly logger = new Logger('ProbeService');

  /** Resolved by a test to let GET /probe/hang answer, after its client has gone. */
  release: () => void = () => undefined;

  hang(): Promise<string> {
    return new Promise((resolve) => (this.release = () => resolve('too late')));
  }

  echo(body: unknown) {
    this.logger.log({ msg: 'probe service saw a body', body });
    const context = requestContextStore();
    return { correlation_id: context?.correlationId, organization_id: context?.organizationId ?? null };
  }
}

/** Test-only routes for the responses no real endpoint produces on demand (500, 429, a streamed body); documented like real ones. */
@ApiTags('probe')
@Controller('probe')
export class ProbeController {
  constructor(private readonly probe: ProbeService) {}

  @Public()
  @Get('boom')
  boom(): never {
    throw new Error('probe exploded with secret stack');
  }

  /** An error whose message quotes a credential, as a careless upstream client might. */
  @Public()
  @Get('leaky')
  leaky(@Headers('authorization') authorization: string): never {
    throw new Error(`upstream rejected the credentials ${authorization}`);
  }

  @Public()
  @Get('limited')
  limited(): never {
    throw new TooManyRequestsException(7);
  }

  @Public()
  @Get('stream')
  @ApiOkResponse({ description: 'Two chunks of text', content: { 'text/plain': { schema: { type: 'string' } } } })
  stream(@Res() response: Response): void {
    response.status(200).type('text/plain');
    response.write('first chunk\n');
    setImmediate(() => response.end('last chunk\n'));
  }

  @Public()
  @Get('hang')
  @ApiOkResponse({ description: 'Text, once released', content: { 'text/html': { schema: { type: 'string' } } } })
  hang(): Promise<string> {
    return this.probe.hang();
  }

  @Post('echo')
  @ApiCreatedResponse({ description: 'The ids the request ran under', schema: { type: 'object', properties: { correlation_id: { type: 'string' }, organization_id: { type: ['string', 'null'] } } } })
  echo(@Body() body: Record<string, unknown>) {
    return this.probe.echo(body);
  }
}

/** Stands in for HealthModule (keeping its controller) so the whole app also serves the probe routes. */
@Module({ controllers: [HealthController, ProbeController], providers: [ProbeService] })
export class ProbeModule {}

export const withProbeRoutes = (builder: TestingModuleBuilder) => builder.overrideModule(HealthModule).useModule(ProbeModule);
