import { Body, Controller, Get, Header, HttpCode, Post, Req, Res } from '@nestjs/common';
import {
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiServiceUnavailableResponse,
  ApiTags,
  ApiTooManyRequestsResponse,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { ApiAuthenticated, ApiValidation } from '../common/api-errors.decorators.js';
import { ProblemResponse } from '../errors/problem.dto.js';
import { CurrentPrincipal, CurrentToken, Public, Roles } from './auth.decorators.js';
import { AuthService } from './auth.service.js';
import { LoginRequest, LoginResponse, MeResponse, SignupRequest, SignupResponse } from './dto/auth.dto.js';
import type { Principal } from './principal.js';

/** 503 from the bounded password-hash queue: a problem body and Retry-After, like every error of the service. */
const HASH_QUEUE_FULL = (what: string) => ({
  description: `Too many ${what} are waiting (one per two CPU cores runs at once, at most 4, and 64 wait); retry after Retry-After (1 s). Also: the database is unreachable.`,
  headers: { 'Retry-After': { description: 'Seconds to wait before retrying', schema: { type: 'integer' as const } } },
  content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/ProblemResponse' } } },
});

@ApiTags('auth')
@Controller('auth')
export class AuthController {
  constructor(private readonly auth: AuthService) {}

  @Public()
  @Post('signup')
  @Header('Cache-Control', 'no-store')
  @ApiOperation({ summary: 'Create an organization (free tier) with its first admin, and log in', description: 'The password rules are listed on the password field; a broken rule is named in the 400.' })
  @ApiCreatedResponse({ type: SignupResponse })
  @ApiValidation()
  @ApiConflictResponse({ description: 'The e-mail is taken', type: ProblemResponse })
  @ApiServiceUnavailableResponse(HASH_QUEUE_FULL('password hashes'))
  signup(@Body() body: SignupRequest): Promise<SignupResponse> {
    return this.auth.signup(body);
  }

  @Public()
  @Post('login')
  @HttpCode(200)
  @Header('Cache-Control', 'no-store')
  @ApiOperation({
    summary: 'Exchange e-mail and password for an access token',
    description:
      'Failed logins are limited: 5 a minute per client IP and e-mail, 30 attempts a minute per client IP across e-mails ' +
      '(with the progressive penalty of every rate limit), 100 failures an hour per e-mail across IPs. A client that sends ' +
      'the device_token of an earlier successful login to the same account counts only its own failures (5 a minute), so ' +
      'other clients never lock it out. A refused attempt checks no password.',
  })
  @ApiOkResponse({ type: LoginResponse })
  @ApiValidation()
  @ApiUnauthorizedResponse({ description: 'Wrong e-mail or password (one generic message, the same time either way)', type: ProblemResponse })
  @ApiTooManyRequestsResponse({ description: 'A failed-login limit is reached; see Retry-After', type: ProblemResponse })
  @ApiServiceUnavailableResponse(HASH_QUEUE_FULL('password checks'))
  login(@Body() body: LoginRequest, @Req() request: Request, @Res({ passthrough: true }) response: Response): Promise<LoginResponse> {
    return this.auth.login(body.email, body.password, { ip: request.ip ?? '', deviceToken: body.device_token }, (headers) => {
      for (const [name, value] of Object.entries(headers)) response.setHeader(name, value);
    });
  }

  @Post('logout')
  @HttpCode(204)
  @Roles('admin', 'teacher', 'student')
  @ApiOperation({ summary: 'Revoke the access token of this request', description: 'The token stops working at once on every instance of the service.' })
  @ApiNoContentResponse({ description: 'The token is revoked' })
  @ApiServiceUnavailableResponse({
    description: 'The revocation could not reach every instance (Redis unreachable): the token is not yet revoked everywhere; retry after Retry-After (1 s). Also: the database is unreachable.',
    headers: { 'Retry-After': { description: 'Seconds to wait before retrying', schema: { type: 'integer' as const } } },
    content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/ProblemResponse' } } },
  })
  @ApiAuthenticated()
  async logout(@CurrentToken() token: { id: string; expiresAt: number }): Promise<void> {
    await this.auth.logout(token);
  }

  @Get('me')
  @Roles('admin', 'teacher', 'student')
  @Header('Cache-Control', 'no-store')
  @ApiOperation({ summary: 'The caller and its organization (with tier)' })
  @ApiOkResponse({ type: MeResponse })
  @ApiAuthenticated()
  me(@CurrentPrincipal() principal: Principal): Promise<MeResponse> {
    return this.auth.me(principal);
  }
}
