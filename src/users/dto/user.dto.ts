import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import { IsBoolean, IsEmail, IsIn, IsInt, IsOptional, IsString, Length, Max, MaxLength, Min, ValidateIf } from 'class-validator';
import { ROLES, type Role } from '../../database/entities/user.entity.js';
import { TIERS, type Tier } from '../../database/entities/organization.entity.js';
import { IsNotFuture, trimText } from '../../common/validators.js';
import { toNormalizedEmail } from '../../auth/email.js';
import { IsAcceptablePassword, PASSWORD_DESCRIPTION, PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from '../../auth/password-policy.js';


export class OrganizationResponse {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty() name: string;
  @ApiProperty() slug: string;
  @ApiProperty({ enum: TIERS }) tier: Tier;
  @ApiProperty({ format: 'date-time' }) created_at: Date;
}

export class UserResponse {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ format: 'uuid' }) organization_id: string;
  @ApiProperty({ type: String, nullable: true, description: 'Null for a learner known only by external_id' }) email: string | null;
  @ApiProperty({ type: String, nullable: true, description: 'The platform’s own id of this user, unique in the organization' }) external_id: string | null;
  @ApiProperty() name: string;
  @ApiProperty({ enum: ROLES }) role: Role;
  @ApiProperty() is_active: boolean;
  @ApiProperty({ format: 'date-time' }) created_at: Date;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) last_login_at: Date | null;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) last_active_at: Date | null;
}

export class UserPageResponse {
  @ApiProperty({ type: [UserResponse] }) items: UserResponse[];
  @ApiProperty({ nullable: true, type: String, description: 'Pass as cursor for the next page; null on the last page' })
  next_cursor: string | null;
}

export class CreateUserRequest {
  @ApiPropertyOptional({ example: 'grace@northwind.example', maxLength: 254, description: 'Required unless external_id is given; stored trimmed, in Unicode NFC and lowercase' })
  @ValidateIf((request: CreateUserRequest) => request.email !== undefined || request.external_id === undefined)
  @Transform(toNormalizedEmail)
  @IsEmail()
  @MaxLength(254)
  email?: string;

  @ApiPropertyOptional({ minLength: 1, maxLength: 255, example: 'lms-4711', description: 'The platform’s own id of this user, unique in the organization; stored trimmed' })
  @IsOptional()
  @Transform(trimText)
  @IsString()
  @Length(1, 255)
  external_id?: string;

  @ApiProperty({ example: 'Grace Teacher' })
  @Transform(trimText)
  @IsString()
  @Length(1, 200)
  name: string;

  @ApiProperty({ enum: ROLES })
  @IsIn(ROLES)
  role: Role;

  @ApiPropertyOptional({ minLength: PASSWORD_MIN_LENGTH, maxLength: PASSWORD_MAX_LENGTH, description: `Omit for learners who never log in. ${PASSWORD_DESCRIPTION}` })
  @IsOptional()
  @IsString()
  @IsAcceptablePassword()
  password?: string;

  @ApiPropertyOptional({ format: 'date-time', description: 'Real sign-up date when importing existing users; not in the future' })
  @IsOptional()
  @IsNotFuture()
  created_at?: string;
}

export class UpdateUserRequest {
  @ApiPropertyOptional()
  @IsOptional()
  @Transform(trimText)
  @IsString()
  @Length(1, 200)
  name?: string;

  @ApiPropertyOptional({ enum: ROLES })
  @IsOptional()
  @IsIn(ROLES)
  role?: Role;

  @ApiPropertyOptional()
  @IsOptional()
  @IsBoolean()
  is_active?: boolean;
}

export class ListUsersQuery {
  @ApiPropertyOptional({ enum: ROLES })
  @IsOptional()
  @IsIn(ROLES)
  role?: Role;

  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: 100, default: 50, description: 'At most this many items' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  limit = 50;

  @ApiPropertyOptional({ description: 'next_cursor of the previous page' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  cursor?: string;
}

export class RosterImportResponse {
  @ApiProperty({ minimum: 0, description: 'Users created by the import' }) created: number;
  @ApiProperty({ minimum: 0, description: 'Matched users whose stored values changed' }) updated: number;
  @ApiProperty({ minimum: 0, description: 'Matched users whose values were already as given' }) unchanged: number;
}
