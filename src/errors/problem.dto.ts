import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

export class FieldErrorResponse {
  @ApiProperty({ example: 'events[3].score' }) field: string;
  @ApiProperty({ example: 'score must not be greater than 100' }) message: string;
}

/** RFC 9457 problem details (application/problem+json). */
export class ProblemResponse {
  @ApiProperty({ format: 'uri', description: 'Identifies the kind of problem', example: 'https://toolbox-metrics.dev/problems/validation-failed' }) type: string;
  @ApiProperty({ description: 'The HTTP reason phrase of the status', example: 'Bad Request' }) title: string;
  @ApiProperty({ type: 'integer', minimum: 400, maximum: 599, example: 400 }) status: number;
  @ApiProperty({ description: 'What went wrong, for a person', example: 'Validation failed' }) detail: string;
  @ApiProperty({ description: 'The path of the request that failed (empty when it was not valid HTTP)', example: '/api/v1/events' }) instance: string;
  @ApiProperty({ type: String, nullable: true, description: 'Also in the X-Correlation-ID header; quote it when reporting a problem', example: '7f3c2a10-1d2e-4b5c-8a9f-0e1d2c3b4a59' })
  correlation_id: string | null;
  @ApiPropertyOptional({ type: [FieldErrorResponse], description: 'Validation failures only: every bad field' }) errors?: FieldErrorResponse[];
  @ApiPropertyOptional({ type: 'integer', minimum: 0, description: 'Seconds to wait, as in Retry-After (429, and 503 when the service is briefly saturated)' }) retry_after?: number;
}
