import { type ServerResponse, STATUS_CODES } from 'node:http';

export interface FieldError {
  field: string;
  message: string;
}

/** RFC 9457 problem details, as every error of this service is answered. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance: string;
  correlation_id: string | null;
  errors?: FieldError[];
  retry_after?: number;
}

const TYPE_BASE = 'https://toolbox-metrics.dev/problems/';

const SLUGS: Record<number, string> = {
  400: 'bad-request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not-found',
  405: 'method-not-allowed',
  409: 'conflict',
  413: 'payload-too-large',
  415: 'unsupported-media-type',
  422: 'unprocessable-entity',
  429: 'too-many-requests',
  500: 'internal-error',
  503: 'service-unavailable',
  508: 'loop-detected',
};

export function problem(status: number, detail: string, instance: string, correlationId: string | null, extra: Partial<Problem> = {}): Problem {
  const slug = SLUGS[status] ?? `http-${status}`;
  return {
    type: status === 400 && extra.errors ? `${TYPE_BASE}validation-failed` : `${TYPE_BASE}${slug}`,
    title: STATUS_CODES[status] ?? 'Error',
    status,
    detail,
    instance,
    correlation_id: correlationId,
    ...extra,
  };
}

/** Sends a problem with the headers its status calls for; on a plain Node response too (the cached-hit fast path's 429). */
export function sendProblem(response: ServerResponse, body: Problem): void {
  if (response.headersSent) return;
  if (body.status === 401) response.setHeader('WWW-Authenticate', 'Bearer');
  if (body.retry_after !== undefined) response.setHeader('Retry-After', String(body.retry_after));
  response.statusCode = body.status;
  response.setHeader('Content-Type', 'application/problem+json; charset=utf-8');
  response.end(JSON.stringify(body));
}
