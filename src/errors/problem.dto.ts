import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

export class FieldErrorResponse {
  @ApiProperty({ example: 'events[3].score' }) field: string;
  @ApiProperty({ example: 'score must not be greater than 100' }) message: string;
}

/** RFC 9457 problem details (application/problem+json). */
export class ProblemResponse {
  @ApiProperty({ example: 'https://toolbox-metrics.dev/problems/validation-failed' }) type: string;
  @ApiProperty({ example: 'Bad Request' }) title: string;
  @ApiProperty({ example: 400 }) status: number;
  @ApiProperty() detail: string;
  @ApiProperty({ example: '/api/v1/events' }) instance: string;
  @ApiProperty({ nullable: true, type: String }) correlation_id: string | null;
  @ApiPropertyOptional({ type: [FieldErrorResponse] }) errors?: FieldErrorResponse[];
  @ApiPropertyOptional({ description: 'Seconds to wait before retrying (429, and 503 when the service is briefly saturated)', type: 'integer', minimum: 1 }) retry_after?: number;
}
