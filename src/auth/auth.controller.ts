import { Body, Controller, Get, HttpCode, Post } from '@nestjs/common';
import { ApiConflictResponse, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags, ApiUnauthorizedResponse } from '@nestjs/swagger';
import { ApiAuthenticated, ApiValidation } from '../common/api-errors.decorators.js';
import { ProblemResponse } from '../errors/problem.dto.js';
import { CurrentPrincipal, Public, Roles } from './auth.decorators.js';
import { AuthService } from './auth.service.js';
import { LoginRequest, MeResponse, SignupRequest, SignupResponse, TokenResponse } from './dto/auth.dto.js';
import type { Principal } from './principal.js';

@ApiTags('auth')
@Controller('auth')
export class AuthController {
  constructor(private readonly auth: AuthService) {}

  @Public()
  @Post('signup')
  @ApiOperation({ summary: 'Create an organization (free tier) with its first admin, and log in' })
  @ApiCreatedResponse({ type: SignupResponse })
  @ApiValidation()
  @ApiConflictResponse({ description: 'The e-mail is taken', type: ProblemResponse })
  signup(@Body() body: SignupRequest): Promise<SignupResponse> {
    return this.auth.signup(body);
  }

  @Public()
  @Post('login')
  @HttpCode(200)
  @ApiOperation({ summary: 'Exchange e-mail and password for an access token (5 attempts a minute per IP and e-mail)' })
  @ApiOkResponse({ type: TokenResponse })
  @ApiValidation()
  @ApiUnauthorizedResponse({ description: 'Wrong e-mail or password (one generic message)', type: ProblemResponse })
  login(@Body() body: LoginRequest): Promise<TokenResponse> {
    return this.auth.login(body.email, body.password);
  }

  @Get('me')
  @Roles('admin', 'teacher', 'student')
  @ApiOperation({ summary: 'The caller and its organization (with tier)' })
  @ApiOkResponse({ type: MeResponse })
  @ApiAuthenticated()
  me(@CurrentPrincipal() principal: Principal): Promise<MeResponse> {
    return this.auth.me(principal);
  }
}
