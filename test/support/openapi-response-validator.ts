import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import type { ValidateFunction } from 'ajv';
import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http';

type Json = Record<string, unknown>;
interface MediaType {
  schema?: Json;
}
interface ResponseObject {
  content?: Record<string, MediaType>;
}
interface Operation {
  responses: Record<string, ResponseObject>;
}
interface Route {
  template: string;
  pattern: RegExp;
  literalLength: number;
  operations: Record<string, Operation>;
}

/**
 * Static files of the pages, outside the document (Swagger UI and ReDoc assets, the favicon, the dashboard page's
 * scripts and styles). The pages themselves (GET /) are documented operations.
 */
const DOCUMENTATION_ASSETS = /^\/(docs(\/.*)?|docs-json|docs-yaml|openapi\.json|redoc(\/.*)?|favicon\.ico|swagger-ui[\w.-]*\.(js|css)|favicon-\d+x\d+\.png|dashboard\/[\w.-]+\.(js|css|svg|png|ico|woff2?))$/;
const JSON_TYPES = new Set(['application/json', 'application/problem+json']);
const MAX_CAPTURED_BYTES = 8 * 1024 * 1024;

const mediaType = (header: string | undefined) => (header ?? '').split(';')[0].trim().toLowerCase();

/**
 * Checks every response a test app sends against the OpenAPI document the app serves: the path and
 * method are documented (or the answer is the catch-all 404), the status is documented for that
 * operation, the Content-Type is one documented for that status, and a JSON body validates against
 * its schema. Other media types (CSV, xlsx, HTML, text/event-stream, Prometheus text) are checked
 * by status and media type. Violations are collected; test/support/response-validation.setup.ts
 * fails the running test with them.
 */
export class OpenApiResponseValidator {
  private readonly ajv: Ajv2020;
  private readonly routes: Route[];
  private readonly validators = new Map<string, ValidateFunction>();
  readonly violations: string[] = [];
  checked = 0;

  constructor(private readonly document: Json & { paths: Record<string, Record<string, Operation>> }) {
    this.ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: true });
    addFormats(this.ajv);
    for (const format of ['binary', 'byte', 'int32', 'int64', 'float', 'double', 'password']) this.ajv.addFormat(format, true);
    this.ajv.addSchema({ $id: 'openapi.json', components: (document.components ?? {}) as Json, paths: document.paths });
    this.routes = Object.entries(document.paths)
      .map(([template, operations]) => ({
        template,
        pattern: new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+')}$`),
        literalLength: template.replace(/\{[^}]+\}/g, '').length,
        operations,
      }))
      // A literal path wins over a template that also matches it (/users/import before /users/{id}).
      .sort((a, b) => b.literalLength - a.literalLength);
  }

  /** Wraps the server's request listeners so that every response, the cached-hit fast path's included, is seen. */
  install(server: Server): void {
    const listeners = server.listeners('request') as RequestListener[];
    server.removeAllListeners('request');
    server.on('request', (request: IncomingMessage, response: ServerResponse) => {
      this.capture(request, response);
      for (const listener of listeners) listener.call(server, request, response);
    });
  }

  private capture(request: IncomingMessage, response: ServerResponse): void {
    const chunks: Buffer[] = [];
    let size = 0;
    let truncated = false;
    const keep = (chunk: unknown, encoding?: unknown) => {
      if (chunk === undefined || chunk === null || typeof chunk === 'function') return;
      const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8');
      size += buffer.length;
      if (size > MAX_CAPTURED_BYTES) truncated = true;
      else chunks.push(buffer);
    };
    // Headers passed to writeHead (the cached-hit fast path's) are not visible through getHeader afterwards.
    let headContentType: string | undefined;
    const writeHead = response.writeHead.bind(response) as (...args: unknown[]) => ServerResponse;
    response.writeHead = ((...args: unknown[]) => {
      const headers = args.find((arg, index) => index > 0 && typeof arg === 'object' && arg !== null);
      headContentType = contentTypeOf(headers);
      return writeHead(...args);
    }) as ServerResponse['writeHead'];
    const write = response.write.bind(response) as (...args: unknown[]) => boolean;
    const end = response.end.bind(response) as (...args: unknown[]) => ServerResponse;
    response.write = ((chunk: unknown, ...rest: unknown[]) => {
      keep(chunk, rest[0]);
      return write(chunk, ...rest);
    }) as ServerResponse['write'];
    response.end = ((chunk?: unknown, ...rest: unknown[]) => {
      keep(chunk, rest[0]);
      return end(chunk, ...rest);
    }) as ServerResponse['end'];
    // 'close' also comes for a stream the client abandoned (an SSE test that stops reading).
    response.once('close', () => {
      if (!response.headersSent) return;
      const body = truncated ? undefined : Buffer.concat(chunks);
      const getHeader = (name: string) => response.getHeader(name) ?? (name.toLowerCase() === 'content-type' ? headContentType : undefined);
      this.check(request.method ?? 'GET', request.url ?? '/', { statusCode: response.statusCode, getHeader }, body);
    });
  }

  /** The problems of one response, as sentences naming the request; also recorded in violations. */
  check(method: string, url: string, response: Pick<ServerResponse, 'statusCode' | 'getHeader'>, body: Buffer | undefined): string[] {
    this.checked++;
    // CORS preflights are answered by the CORS layer for any route (CORS_ORIGINS); they are not operations of the API.
    if (method === 'OPTIONS') return [];
    // Express routes ignore one trailing slash (/api/v1/users/ is /api/v1/users).
    const path = url.split('?')[0].replace(/(.)\/$/, '$1');
    const status = response.statusCode;
    const contentType = mediaType(response.getHeader('content-type') as string | undefined);
    const label = `${method} ${url} → ${status} ${contentType || '(no content type)'}`;
    const problems: string[] = [];
    const found = this.operation(method, path);
    if (!found) {
      if (DOCUMENTATION_ASSETS.test(path) && status < 500) return [];
      // Unknown routes are answered by the catch-all as a 404 problem; anything else there is an undocumented endpoint.
      if (status === 404 && contentType === 'application/problem+json') problems.push(...this.body(label, body, { $ref: 'openapi.json#/components/schemas/ProblemResponse' }));
      else problems.push(`${label}: ${method} ${path} is not in the OpenAPI document`);
    } else {
      const documented = found.operation.responses[String(status)] ?? found.operation.responses.default;
      if (!documented) {
        problems.push(`${label}: status ${status} is not documented for ${method} ${found.template} (documented: ${Object.keys(found.operation.responses).join(', ')})`);
      } else if (!documented.content || Object.keys(documented.content).length === 0) {
        if (body && body.length > 0 && method !== 'HEAD') problems.push(`${label}: a body was sent but ${status} is documented without content`);
      } else {
        const key = Object.keys(documented.content).find((candidate) => mediaType(candidate) === contentType);
        if (!key) {
          problems.push(`${label}: content type not documented for ${status} (documented: ${Object.keys(documented.content).join(', ')})`);
        } else if (JSON_TYPES.has(contentType) && method !== 'HEAD' && documented.content[key].schema) {
          const pointer = ['paths', found.template, found.method, 'responses', String(status), 'content', key, 'schema'].map(escapePointer).join('/');
          problems.push(...this.body(label, body, { $ref: `openapi.json#/${pointer}` }));
        }
      }
    }
    this.violations.push(...problems);
    return problems;
  }

  private operation(method: string, path: string) {
    const lower = method.toLowerCase() === 'head' ? 'get' : method.toLowerCase();
    for (const route of this.routes) {
      if (!route.pattern.test(path)) continue;
      const operation = route.operations[lower];
      if (operation) return { template: route.template, method: lower, operation };
    }
    return undefined;
  }

  private body(label: string, body: Buffer | undefined, schema: Json): string[] {
    if (body === undefined) return [];
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch {
      return [`${label}: the body is not JSON: ${body.toString('utf8').slice(0, 200)}`];
    }
    const key = String(schema.$ref);
    let validate = this.validators.get(key);
    if (!validate) {
      validate = this.ajv.compile(schema);
      this.validators.set(key, validate);
    }
    if (validate(parsed)) return [];
    return [`${label}: the body does not match the documented schema: ${this.ajv.errorsText(validate.errors, { separator: '; ' })}`];
  }
}

function contentTypeOf(headers: unknown): string | undefined {
  if (Array.isArray(headers)) {
    for (let i = 0; i < headers.length; i += 2) if (String(headers[i]).toLowerCase() === 'content-type') return String(headers[i + 1]);
    return undefined;
  }
  const entry = Object.entries((headers ?? {}) as Record<string, unknown>).find(([name]) => name.toLowerCase() === 'content-type');
  return entry ? String(entry[1]) : undefined;
}

function escapePointer(segment: string): string {
  return encodeURIComponent(segment.replace(/~/g, '~0').replace(/\//g, '~1'));
}

const active = new Set<OpenApiResponseValidator>();

export function registerValidator(validator: OpenApiResponseValidator): void {
  active.add(validator);
}

export function unregisterValidator(validator: OpenApiResponseValidator): void {
  active.delete(validator);
}

/** Every violation recorded since the last call, by any test app of this test file. */
export function takeViolations(): string[] {
  const found: string[] = [];
  for (const validator of active) found.push(...validator.violations.splice(0));
  return found;
}
