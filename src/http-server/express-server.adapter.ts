import type { NestApplicationOptions } from '@nestjs/common';
import { ExpressAdapter } from '@nestjs/platform-express';
import type { Express } from 'express';
import { createServer, IncomingMessage, ServerResponse } from 'node:http';

/** Request and response classes whose instances are built on the Express app's own prototypes. */
export interface ExpressShapedClasses {
  IncomingMessage: typeof IncomingMessage;
  ServerResponse: typeof ServerResponse;
}

/**
 * Classes for node:http whose requests and responses have the app's `request` and `response` as their prototypes from
 * the moment they are built. Express moves every request and response onto those prototypes when it takes them
 * (Object.setPrototypeOf); done to an object that already has properties, V8 gives it a map of its own, outside the
 * shared shapes, and every property added after that makes yet another. Each request then paid for new maps and found
 * every property access of Express, Nest and the middleware cold. With the prototype already in place, Express's move
 * changes nothing. The app's `request` and `response` become these classes' prototypes, which inherit from the
 * previous ones, so everything Express defines on them stays where it was.
 */
export function expressShapedClasses(app: Express): ExpressShapedClasses {
  class ExpressRequest extends IncomingMessage {}
  class ExpressResponse<Request extends IncomingMessage = IncomingMessage> extends ServerResponse<Request> {}
  Object.setPrototypeOf(ExpressRequest.prototype, app.request);
  Object.setPrototypeOf(ExpressResponse.prototype, app.response);
  app.request = ExpressRequest.prototype as Express['request'];
  app.response = ExpressResponse.prototype as Express['response'];
  return { IncomingMessage: ExpressRequest, ServerResponse: ExpressResponse };
}

/**
 * Nest's Express adapter, whose HTTP server builds its requests and responses with expressShapedClasses. Options that
 * need Nest's own server set-up (HTTPS, connection tracking, 503 while closing; none is used here) get it unchanged.
 */
export class ExpressServerAdapter extends ExpressAdapter {
  override initHttpServer(options: NestApplicationOptions): void {
    if (options?.httpsOptions || options?.forceCloseConnections || options?.return503OnClosing) return super.initHttpServer(options);
    const app = this.getInstance<Express>();
    this.httpServer = createServer(expressShapedClasses(app), app);
  }
}
