import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsEmail, IsOptional, IsString, Length, MaxLength } from 'class-validator';
import { OrganizationResponse, UserResponse } from '../../users/dto/user.dto.js';
import { toNormalizedEmail } from '../email.js';
import { IsAcceptablePassword, PASSWORD_DESCRIPTION, PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from '../password-policy.js';

const trim = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value);

export class SignupRequest {
  @ApiProperty({ example: 'Northwind Academy', maxLength: 200 })
  @Transform(trim)
  @IsString()
  @Length(1, 200)
  organization_name: string;

  @ApiProperty({ example: 'Ada Admin', maxLength: 200 })
  @Transform(trim)
  @IsString()
  @Length(1, 200)
  name: string;

  @ApiProperty({ example: 'ada@northwind.example', maxLength: 254, description: 'Stored trimmed, in Unicode NFC and lowercase' })
  @Transform(toNormalizedEmail)
  @IsEmail()
  @MaxLength(254)
  email: string;

  @ApiProperty({ example: 'correct horse battery staple', minLength: PASSWORD_MIN_LENGTH, maxLength: PASSWORD_MAX_LENGTH, description: PASSWORD_DESCRIPTION })
  @IsString()
  @IsAcceptablePassword()
  password: string;
}

export class LoginRequest {
  @ApiProperty({ example: 'ada@northwind.example', maxLength: 1024, description: 'Compared in its normalized form; a string that is not an e-mail address gets the same 401 as an unknown one' })
  @IsString()
  @MaxLength(1024)
  email: string;

  @ApiProperty({ example: 'correct horse battery staple', maxLength: 1024 })
  @IsString()
  @MaxLength(1024)
  password: string;

  @ApiPropertyOptional({
    maxLength: 512,
    description: 'The device_token of an earlier successful login to this account: failures of other clients (on this IP or any other) never refuse this one',
  })
  @IsOptional()
  @IsString()
  @MaxLength(512)
  device_token?: string;
}

export class TokenResponse {
  @ApiProperty()
  access_token: string;

  @ApiProperty({ example: 'Bearer' })
  token_type: 'Bearer';

  @ApiProperty({ description: 'Seconds until the token expires', example: 3600 })
  expires_in: number;
}

export class LoginResponse extends TokenResponse {
  @ApiProperty({ description: 'Keep it and send it with later logins to this account (30 days): proof of an earlier successful login from this client' })
  device_token: string;
}

export class SignupResponse extends TokenResponse {
  @ApiProperty({ type: OrganizationResponse })
  organization: OrganizationResponse;

  @ApiProperty({ type: UserResponse })
  user: UserResponse;
}

export class MeResponse {
  @ApiProperty({ type: UserResponse })
  user: UserResponse;

  @ApiProperty({ type: OrganizationResponse })
  organization: OrganizationResponse;
}
