import { ApiProperty } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsEmail, IsString, Length, MaxLength } from 'class-validator';
import { OrganizationResponse, UserResponse } from '../../users/dto/user.dto.js';

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

  @ApiProperty({ example: 'ada@northwind.example', maxLength: 254 })
  @Transform(trim)
  @IsEmail()
  @MaxLength(254)
  email: string;

  @ApiProperty({ example: 'correct horse battery staple', minLength: 10, maxLength: 128 })
  @IsString()
  @Length(10, 128)
  password: string;
}

export class LoginRequest {
  @ApiProperty({ example: 'ada@northwind.example' })
  @Transform(trim)
  @IsString()
  @MaxLength(254)
  email: string;

  @ApiProperty({ example: 'correct horse battery staple' })
  @IsString()
  @MaxLength(128)
  password: string;
}

export class TokenResponse {
  @ApiProperty()
  access_token: string;

  @ApiProperty({ example: 'Bearer' })
  token_type: 'Bearer';

  @ApiProperty({ description: 'Seconds until the token expires', example: 3600 })
  expires_in: number;
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
