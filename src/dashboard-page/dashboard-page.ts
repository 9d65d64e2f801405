import { join } from 'node:path';
import type { Express, NextFunction, Request, Response } from 'express';

/** The page's own files (copied next to the compiled code by nest-cli.json's assets) and uPlot from its package. */
const PUBLIC_DIR = join(__dirname, 'public');
const UPLOT_DIR = join(require.resolve('uplot/package.json'), '..', 'dist');

/** Only the service's own origin: no inline script or style, no framing, requests to this host alone. */
export const PAGE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** path → [file, content type]; a fixed list, so no request can name another file. */
const ASSETS: Record<string, [string, string]> = {
  '/dashboard/dashboard.js': [join(PUBLIC_DIR, 'dashboard.js'), 'application/javascript; charset=utf-8'],
  '/dashboard/dashboard.css': [join(PUBLIC_DIR, 'dashboard.css'), 'text/css; charset=utf-8'],
  '/dashboard/favicon.svg': [join(PUBLIC_DIR, 'favicon.svg'), 'image/svg+xml'],
  '/dashboard/uplot.js': [join(UPLOT_DIR, 'uPlot.iife.min.js'), 'application/javascript; charset=utf-8'],
  '/dashboard/uplot.css': [join(UPLOT_DIR, 'uPlot.min.css'), 'text/css; charset=utf-8'],
};

/** GET / — the organization's dashboard page — and its scripts and styles, all from this service. */
export function serveDashboardPage(express: Express): void {
  express.get('/', (_request: Request, response: Response, next: NextFunction) => {
    response.setHeader('Content-Security-Policy', PAGE_CSP);
    response.setHeader('X-Frame-Options', 'DENY');
    response.setHeader('X-Content-Type-Options', 'nosniff');
    response.setHeader('Referrer-Policy', 'no-referrer');
    // The page itself holds no data (that comes from the API with the token), but a new release must show at once.
    response.setHeader('Cache-Control', 'no-cache');
    response.type('html').sendFile(join(PUBLIC_DIR, 'index.html'), (error) => error && next(error));
  });
  for (const [path, [file, contentType]] of Object.entries(ASSETS)) {
    express.get(path, (_request: Request, response: Response, next: NextFunction) => {
      response.setHeader('X-Content-Type-Options', 'nosniff');
      response.setHeader('Cache-Control', 'no-cache');
      response.setHeader('Content-Type', contentType);
      response.sendFile(file, (error) => error && next(error));
    });
  }
}
