import { type Express, type NextFunction, type Request, type Response, Router } from 'express';

/**
 * Where the service's pages live: Swagger UI (/docs and its assets, /docs-yaml), the OpenAPI document, ReDoc, the
 * favicon and the dashboard page (/ and /dashboard/…). Lower case: Express matches routes without regard to case.
 */
const PAGE_PREFIXES = ['/docs', '/redoc', '/openapi.json', '/favicon.ico', '/dashboard/'];

/** Whether a request path can be one of the pages' (see PAGE_PREFIXES). */
export function isPagePath(path: string): boolean {
  if (path === '/') return true;
  const lower = path.toLowerCase();
  for (const prefix of PAGE_PREFIXES) if (lower.startsWith(prefix)) return true;
  return false;
}

/** Paths no page route may answer: a route that did would be cut off by the gate, so pagesBehindOneTest refuses it. */
const NOT_PAGES = ['/health/live', '/api/v1/metrics/dashboard', '/metrics', '/api/v1/auth/login'];

interface RouterLayer {
  route?: { path: string };
  match(path: string): boolean;
}

/**
 * The pages are registered before Nest adds the controllers' routes (the not-found handlers come with those), so
 * every API request was tested against each of their 19 layers first (`GET /health/live` was layer 32 of the app's
 * router, the dashboard layer 54). The layers added to the app's router since `from` (its stack length before the
 * pages were set up) move, in their order, into one router reached only by paths isPagePath accepts: one test of the
 * path for everything else. A page layer that could answer another path is refused at start-up rather than cut off.
 */
export function pagesBehindOneTest(express: Express, from: number): void {
  const stack = (express.router as unknown as { stack: RouterLayer[] }).stack;
  const layers = stack.splice(from);
  for (const layer of layers) {
    const outside = layer.route ? !isPagePath(layer.route.path) : NOT_PAGES.some((path) => layer.match(path));
    if (outside) throw new Error(`A page route answers outside the page paths (${layer.route?.path ?? 'a middleware'}): add its prefix to PAGE_PREFIXES`);
  }
  const pages = Router();
  (pages as unknown as { stack: RouterLayer[] }).stack.push(...layers);
  express.use(function pageRoutes(request: Request, response: Response, next: NextFunction) {
    if (isPagePath(request.path)) pages(request, response, next);
    else next();
  });
}

/** The app router's current number of layers: pass it to pagesBehindOneTest before the pages are set up. */
export function routerLength(express: Express): number {
  return (express.router as unknown as { stack: unknown[] }).stack.length;
}
