import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Length, Max, MaxLength, Min } from 'class-validator';
import { CONTENT_STATUSES, CONTENT_TYPES, type ContentStatus, type ContentType } from '../../database/entities/educational-content.entity.js';
import { IsNotFuture, trimText } from '../../common/validators.js';


export class ContentResponse {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ format: 'uuid' }) organization_id: string;
  @ApiProperty({ format: 'uuid', nullable: true, type: String }) author_id: string | null;
  @ApiProperty({ type: String, nullable: true, description: 'The platform’s own id of this content, unique in the organization' }) external_id: string | null;
  @ApiProperty() title: string;
  @ApiProperty({ enum: CONTENT_TYPES }) content_type: ContentType;
  @ApiProperty({ enum: CONTENT_STATUSES }) status: ContentStatus;
  @ApiProperty({ nullable: true, type: Number }) generation_time_ms: number | null;
  @ApiProperty({ format: 'date-time' }) created_at: Date;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) published_at: Date | null;
}

export class ContentPageResponse {
  @ApiProperty({ type: [ContentResponse] }) items: ContentResponse[];
  @ApiProperty({ nullable: true, type: String }) next_cursor: string | null;
}

export class CreateContentRequest {
  @ApiProperty({ example: 'Fractions, part 1', maxLength: 300 })
  @Transform(trimText)
  @IsString()
  @Length(1, 300)
  title: string;

  @ApiProperty({ enum: CONTENT_TYPES })
  @IsIn(CONTENT_TYPES)
  content_type: ContentType;

  @ApiPropertyOptional({ minLength: 1, maxLength: 255, example: 'https://lms.example/course/7/lesson/3', description: 'The platform’s own id of this content, unique in the organization; stored trimmed' })
  @IsOptional()
  @Transform(trimText)
  @IsString()
  @Length(1, 255)
  external_id?: string;

  @ApiPropertyOptional({ enum: CONTENT_STATUSES, default: 'draft' })
  @IsOptional()
  @IsIn(CONTENT_STATUSES)
  status?: ContentStatus;

  @ApiPropertyOptional({ type: 'integer', minimum: 0, maximum: 86400000, description: 'How long the content took to generate, in ms' })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(86_400_000)
  generation_time_ms?: number;

  @ApiPropertyOptional({ format: 'date-time', description: 'Real creation date when importing; not in the future' })
  @IsOptional()
  @IsNotFuture()
  created_at?: string;
}

export class UpdateContentRequest {
  @ApiPropertyOptional({ maxLength: 300 })
  @IsOptional()
  @Transform(trimText)
  @IsString()
  @Length(1, 300)
  title?: string;

  @ApiPropertyOptional({ enum: CONTENT_STATUSES, description: 'Publishing sets published_at the first time' })
  @IsOptional()
  @IsIn(CONTENT_STATUSES)
  status?: ContentStatus;
}

export class ListContentQuery {
  @ApiPropertyOptional({ enum: CONTENT_STATUSES })
  @IsOptional()
  @IsIn(CONTENT_STATUSES)
  status?: ContentStatus;

  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: 100, default: 50, description: 'At most this many items' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  limit = 50;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(200)
  cursor?: string;
}
