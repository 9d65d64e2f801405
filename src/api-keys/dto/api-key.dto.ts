import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { ArrayMaxSize, ArrayMinSize, ArrayUnique, IsArray, IsIn, IsOptional, IsString, Length, ValidateBy } from 'class-validator';
import { isIsoDateTime } from '../../common/validators.js';
import { API_KEY_SCOPES, type ApiKeyScope } from '../api-key-scopes.js';

/** An ISO 8601 date-time with a time zone, later than now. */
const IsFutureDateTime = () =>
  ValidateBy({
    name: 'isFutureDateTime',
    validator: {
      validate: (value: unknown) => isIsoDateTime(value) && Date.parse(value) > Date.now(),
      defaultMessage: () => 'expires_at must be an ISO 8601 date-time with a time zone, in the future',
    },
  });

const trim = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value);

export class CreateApiKeyRequest {
  @ApiProperty({ example: 'LMS production', minLength: 1, maxLength: 100 })
  @Transform(trim)
  @IsString()
  @Length(1, 100)
  name: string;

  @ApiProperty({ enum: API_KEY_SCOPES, isArray: true, minItems: 1, maxItems: API_KEY_SCOPES.length, uniqueItems: true, example: ['events:write'] })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(API_KEY_SCOPES.length)
  @ArrayUnique()
  @IsIn(API_KEY_SCOPES, { each: true })
  scopes: ApiKeyScope[];

  @ApiPropertyOptional({ type: String, format: 'date-time', description: 'When the key stops working; in the future. Omit for a key that does not expire' })
  @IsOptional()
  @IsFutureDateTime()
  expires_at?: string;
}

export class ApiKeyResponse {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty() name: string;
  @ApiProperty({ enum: API_KEY_SCOPES, isArray: true }) scopes: ApiKeyScope[];
  @ApiProperty({ description: 'The public part of the key: tbm_<prefix>_…; the user name for HTTP Basic', example: '3f9c1a0b7d2e' }) prefix: string;
  @ApiProperty({ format: 'date-time' }) created_at: Date;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) expires_at: Date | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true, description: 'Last authenticated request; updated at most once a minute' })
  last_used_at: Date | null;
}

export class CreatedApiKeyResponse {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty() name: string;
  @ApiProperty({ enum: API_KEY_SCOPES, isArray: true }) scopes: ApiKeyScope[];
  @ApiProperty({ example: '3f9c1a0b7d2e' }) prefix: string;
  @ApiProperty({ description: 'The whole key. Shown in this response only: only its hash is stored', example: 'tbm_3f9c1a0b7d2e_q2V…' }) key: string;
  @ApiProperty({ format: 'date-time' }) created_at: Date;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) expires_at: Date | null;
}

export class ApiKeyListResponse {
  @ApiProperty({ type: [ApiKeyResponse] }) items: ApiKeyResponse[];
}
