import { Module } from '@nestjs/common';
import { RollupsRepository } from './rollups.repository.js';

@Module({
  providers: [RollupsRepository],
  exports: [RollupsRepository],
})
export class RollupsModule {}
