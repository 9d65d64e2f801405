import type { NestApplicationOptions } from '@nestjs/common';
import { ExpressAdapter } from '@nestjs/platform-express';
import type { Express } from 'express';
import { createServer, IncomingMessage, ServerResponse } from 'node:http';

/**
 * Told about one response: right before its headers are written (whoever writes them: Nest, sendProblem, a stream,
 * Node's implicit write) and once when it closes (sent, or its client gone first; Node emits 'close' once either way).
 * One plain object per request, set with observeResponse and called by the response's own class: the wrapped
 * writeHead and 'close' listener each request used to get, with their closures, took about a third of
 * `GET /health/live`'s CPU on Node.js 24 (docs/performance.md, "A sixteenth host").
 */
export interface ResponseObserver {
  headersWriting(response: ServerResponse): void;
  closed(response: ServerResponse): void;
}

/** Marks the prototype whose writeHead and emit tell the observer. */
const REPORTS_TO_OBSERVER = Symbol('reportsToObserver');

/** A response of expressShapedClasses: its observer slot exists from birth, so setting it changes no map. */
interface ObservableResponse extends ServerResponse {
  observer: ResponseObserver | undefined;
  [REPORTS_TO_OBSERVER]?: true;
}

/**
 * Makes `observer` the response's observer, replacing any earlier one (a request the cached-hit fast path hands to
 * Express is observed by the correlation middleware from then on). Only responses built by expressShapedClasses'
 * classes, or moved onto their prototype by Express, report to it; any other would lose every duration, metric and
 * completion line without a word, so it is refused.
 */
export function observeResponse(response: ServerResponse, observer: ResponseObserver): void {
  if ((response as ObservableResponse)[REPORTS_TO_OBSERVER] !== true) {
    throw new Error('This response tells no observer: serve the app through ExpressServerAdapter (or expressShapedClasses)');
  }
  (response as ObservableResponse).observer = observer;
}

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
  const expressJson = (app.response as unknown as { json(this: ServerResponse, body: unknown): ServerResponse }).json;
  class ExpressRequest extends IncomingMessage {}
  class ExpressResponse<Request extends IncomingMessage = IncomingMessage> extends ServerResponse<Request> implements ObservableResponse {
    observer: ResponseObserver | undefined = undefined;

    /**
     * Express's `json` where it would only send the text: the same headers and bytes, without parsing back the
     * content type it has just set to add its charset (through mime-types, then content-type): about 4 % of
     * `GET /health/live`'s busy time on Node.js 24, and a fifth of its throughput on loopback (docs/performance.md, "An
     * eighteenth host"). Whatever else Express's `send` would do goes to Express: the app's JSON settings or an ETag function,
     * a content type or Transfer-Encoding set before, HEAD, 204, 205 and 304, a conditional request.
     */
    json(body: unknown): this {
      if (!sendsJsonAsIs(this)) return expressJson.call(this, body) as this;
      const text = JSON.stringify(body);
      // undefined (a function, a symbol): Express's own answer, whatever it is.
      if (text === undefined) return expressJson.call(this, body) as this;
      this.setHeader('Content-Type', 'application/json; charset=utf-8');
      this.setHeader('Content-Length', String(Buffer.byteLength(text)));
      this.end(text);
      return this;
    }

    override writeHead(...args: unknown[]): this {
      const observer = this.observer;
      if (observer !== undefined && !this.headersSent) observer.headersWriting(this);
      return (super.writeHead as (...args: unknown[]) => this)(...args);
    }

    override emit(event: string | symbol, ...args: unknown[]): boolean {
      if (event === 'close') {
        const observer = this.observer;
        this.observer = undefined;
        observer?.closed(this);
      }
      return super.emit(event, ...args);
    }
  }
  Object.defineProperty(ExpressResponse.prototype, REPORTS_TO_OBSERVER, { value: true });
  Object.setPrototypeOf(ExpressRequest.prototype, app.request);
  Object.setPrototypeOf(ExpressResponse.prototype, app.response);
  app.request = ExpressRequest.prototype as Express['request'];
  app.response = ExpressResponse.prototype as unknown as Express['response'];
  return { IncomingMessage: ExpressRequest, ServerResponse: ExpressResponse };
}

/** Whether Express's `json` would do no more than set the JSON content type and length and send the text (see ExpressResponse.json). */
function sendsJsonAsIs(response: ServerResponse): boolean {
  const settings = (response as unknown as { app?: { settings?: Record<string, unknown> } }).app?.settings;
  const request = response.req as IncomingMessage | undefined;
  if (settings === undefined || request === undefined) return false;
  if (settings['json replacer'] !== undefined || settings['json spaces'] !== undefined || settings['json escape'] || typeof settings['etag fn'] === 'function') return false;
  if (response.hasHeader('content-type') || response.hasHeader('transfer-encoding')) return false;
  const status = response.statusCode;
  if (status === 204 || status === 205 || status === 304 || request.method === 'HEAD') return false;
  // Express would answer 304 to a conditional GET whose validators match (req.fresh).
  return request.headers['if-none-match'] === undefined && request.headers['if-modified-since'] === undefined;
}

/**
 * Nest's Express adapter, whose HTTP server builds its requests and responses with expressShapedClasses. Nest's own
 * server set-up (HTTPS, connection tracking, 503 while closing) would build plain ones, whose observers
 * (observeResponse) are never told anything: those options are refused rather than served without durations,
 * metrics and completion lines. The service speaks plain HTTP; TLS ends in front of it (docs/scaling.md).
 */
export class ExpressServerAdapter extends ExpressAdapter {
  override initHttpServer(options: NestApplicationOptions): void {
    const unsupported = (['httpsOptions', 'forceCloseConnections', 'return503OnClosing'] as const).filter((name) => options?.[name]);
    if (unsupported.length > 0) throw new Error(`ExpressServerAdapter does not support ${unsupported.join(', ')}: its HTTP server is built with its own request and response classes`);
    const app = this.getInstance<Express>();
    this.httpServer = createServer(expressShapedClasses(app), app);
  }
}
