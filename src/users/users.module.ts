import { Module } from '@nestjs/common';
import { UsersController } from './users.controller.js';
import { RosterImportService } from './roster-import.service.js';
import { RosterRepository } from './roster.repository.js';
import { UsersService } from './users.service.js';

@Module({
  controllers: [UsersController],
  providers: [UsersService, RosterImportService, RosterRepository],
})
export class UsersModule {}
