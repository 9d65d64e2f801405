import { ApiProperty } from '@nestjs/swagger';

export class InvalidateCacheResponse {
  @ApiProperty({ enum: ['success'] }) status: 'success';
  @ApiProperty({ format: 'uuid', description: 'The caller’s organization, the only one invalidated' }) organization_id: string;
  @ApiProperty({ format: 'date-time' }) invalidated_at: string;
}
