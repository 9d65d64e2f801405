import { Injectable, NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { ValidationFailedException } from '../errors/api-errors.js';
import { negotiatedVersion, XAPI_VERSION_HEADER, XAPI_VERSIONS } from './xapi-versions.js';

/**
 * Every response under /xapi carries X-Experience-API-Version (the highest version spoken within the client's
 * major); a request to the statements resource without a version this endpoint speaks is refused with 400.
 */
@Injectable()
export class XapiVersionMiddleware implements NestMiddleware {
  use(request: Request, response: Response, next: NextFunction): void {
    const header = request.header(XAPI_VERSION_HEADER);
    const version = negotiatedVersion(header);
    response.setHeader(XAPI_VERSION_HEADER, version ?? XAPI_VERSIONS[XAPI_VERSIONS.length - 1]);
    if (version === null && !request.path.endsWith('/about')) {
      const message = header === undefined ? `${XAPI_VERSION_HEADER} is required` : `${XAPI_VERSION_HEADER} must be 1.0.x or 2.0.0`;
      return next(new ValidationFailedException([{ field: XAPI_VERSION_HEADER, message }], message));
    }
    next();
  }
}
