import type { OpenAPIObject } from '@nestjs/swagger';
import { problem } from '../errors/problem.js';

type Json = Record<string, unknown>;

const PROBLEM_SCHEMA = { $ref: '#/components/schemas/ProblemResponse' };
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

/** What each tag groups; a tag some controller uses without an entry here still gets defined, from its name. */
const TAG_DESCRIPTIONS: Record<string, string> = {
  auth: 'Sign up an organization, log in, and read who the token belongs to',
  users: "The organization's users (admins, teachers, students)",
  content: 'Educational content and its publishing state',
  events: 'Activity events: logins, lessons, assessments, sessions',
  metrics: "The organization's dashboard figures, activity, statistics and exports, cached per organization",
  health: 'Liveness and readiness probes',
  operations: 'Prometheus scrape endpoint for operators',
  dashboard: 'The dashboard page for people in a browser',
};

/**
 * Statuses any operation can answer, whatever its own rules: the HTTP layer answers them before
 * (or instead of) the handler. Documented on every operation so that a client or a validating
 * proxy knows every status it can receive.
 */
const TRANSPORT_ERRORS: Record<string, string> = {
  '400': 'Invalid input (every bad field is named in errors), malformed JSON, or a request that is not valid HTTP',
  '408': 'The request headers did not arrive within 10 s, or the body within 30 s',
  '413': 'The request body is larger than BODY_LIMIT_BYTES',
  '431': 'The request headers are too large',
  '500': 'Unexpected error; quote correlation_id when reporting it (no stack or SQL in the body)',
  '508': 'X-Chain-Depth exceeded MAX_CHAIN_DEPTH: the request looped through too many services',
};
const EXAMPLE_ID = '0b9d6f4e-5f8a-4c1e-9a57-3d2f1c0e8b7a';
const EXAMPLE_CORRELATION_ID = '7f3c2a10-1d2e-4b5c-8a9f-0e1d2c3b4a59';
const DATABASE_DOWN = 'The database is unreachable, or concurrent writes conflicted and nothing was stored; try again shortly';

export interface ContractOptions {
  /** The e-mail shown in the login example (the demo admin's in the embedded mode). */
  loginExampleEmail?: string;
}

/**
 * Makes the generated document exact for generated clients and validating proxies: OpenAPI 3.1 with
 * `null` in the type where a field is nullable, every error under application/problem+json, every
 * status the service can answer, tags defined, a description on every operation, and servers.
 */
export function finalizeContract(document: OpenAPIObject, options: ContractOptions = {}): OpenAPIObject {
  const doc = document as unknown as Json & { paths: Record<string, Record<string, Json>>; components: Json & { schemas: Record<string, Json> } };
  doc.openapi = '3.1.0';
  doc.servers = [{ url: '/', description: 'The service that serves this document' }];
  const tagNames = new Set<string>();
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of METHODS) {
      const operation = item[method] as (Json & { responses: Record<string, Json>; tags?: string[] }) | undefined;
      if (!operation) continue;
      operation.tags?.forEach((tag) => tagNames.add(tag));
      operation.description ??= operation.summary ?? `${method.toUpperCase()} ${path}`;
      documentEveryStatus(path, operation.responses);
    }
  }
  doc.tags = [...tagNames].sort().map((name) => ({ name, description: TAG_DESCRIPTIONS[name] ?? `Endpoints of ${name}` }));
  doc.components.schemas = mapValues(doc.components.schemas ?? {}, toNullableTypes) as Record<string, Json>;
  for (const item of Object.values(doc.paths)) {
    for (const method of METHODS) {
      const operation = item[method] as Json | undefined;
      if (operation) item[method] = toNullableTypes(operation) as Json;
    }
  }
  for (const name of requestBodySchemas(doc)) describeDefaults(doc.components.schemas[name]);
  const loginEmail = (doc.components.schemas.LoginRequest?.properties as Record<string, Json> | undefined)?.email;
  if (loginEmail && options.loginExampleEmail) loginEmail.example = options.loginExampleEmail;
  return document;
}

function documentEveryStatus(path: string, responses: Record<string, Json>): void {
  for (const [status, description] of Object.entries(TRANSPORT_ERRORS)) responses[status] ??= { description };
  if (path.startsWith('/api/') || path === '/health/ready') responses['503'] ??= { description: DATABASE_DOWN };
  for (const [status, shared] of Object.entries(responses)) {
    if (Number(status) < 400) continue;
    // Decorators hand several operations one response object: each gets its own copy before its example is set.
    const response: Json = (responses[status] = { ...shared });
    response.description ??= `HTTP ${status}`;
    // Every error leaves through the one problem+json filter: its media type and schema, whatever a decorator said,
    // and an example of this very status (not the schema's generic one).
    const example = problem(Number(status), String(response.description), path.replace(/\{[^}]+\}/g, EXAMPLE_ID), EXAMPLE_CORRELATION_ID, status === '429' ? { retry_after: 42 } : {});
    response.content = { 'application/problem+json': { schema: PROBLEM_SCHEMA, example } };
  }
}

/**
 * `nullable: true` is OpenAPI 3.0 and means nothing beside a `$ref` or `allOf`: in 3.1 the type
 * itself lists "null" (or a oneOf offers {type: "null"}), which every JSON Schema validator honours.
 */
function toNullableTypes(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(toNullableTypes);
  if (!node || typeof node !== 'object') return node;
  const schema = mapValues(node as Json, toNullableTypes);
  if (schema.nullable !== true) {
    delete schema.nullable;
    return schema;
  }
  delete schema.nullable;
  const single = Array.isArray(schema.allOf) && schema.allOf.length === 1 ? (schema.allOf[0] as Json) : undefined;
  if (single || typeof schema.$ref === 'string') {
    // The object's own type moves into the referenced schema: beside the oneOf it would forbid null again.
    const { allOf: _allOf, $ref, type: _type, ...rest } = schema;
    return { ...rest, oneOf: [single ?? { $ref }, { type: 'null' }] };
  }
  if (typeof schema.type === 'string') {
    schema.type = [schema.type, 'null'];
    // An enum that already lists null (written for 3.1 by hand) keeps it once.
    if (Array.isArray(schema.enum) && !schema.enum.includes(null)) schema.enum = [...schema.enum, null];
    return schema;
  }
  return { ...schema, oneOf: [...((schema.oneOf as unknown[]) ?? []), { type: 'null' }] };
}

/** Names of the component schemas a request body uses, directly or through a property or item. */
function requestBodySchemas(doc: { paths: Record<string, Record<string, Json>>; components: { schemas: Record<string, Json> } }): Set<string> {
  const names = new Set<string>();
  const visit = (node: unknown): void => {
    if (!node || typeof node !== 'object') return;
    const ref = (node as Json).$ref;
    if (typeof ref === 'string' && ref.startsWith('#/components/schemas/')) {
      const name = ref.slice('#/components/schemas/'.length);
      if (names.has(name)) return;
      names.add(name);
      visit(doc.components.schemas[name]);
    }
    Object.values(node).forEach(visit);
  };
  for (const item of Object.values(doc.paths)) for (const method of METHODS) visit((item[method] as Json | undefined)?.requestBody);
  return names;
}

/**
 * An optional request property's default is what the server assumes when it is left out; generators
 * (openapi-typescript) read `default` as "always present" and would make the client send it. Say it in
 * the description instead, which Swagger UI and ReDoc show as well.
 */
function describeDefaults(schema: Json | undefined): void {
  const properties = schema?.properties as Record<string, Json> | undefined;
  if (!properties) return;
  const required = new Set((schema?.required as string[] | undefined) ?? []);
  for (const [name, property] of Object.entries(properties)) {
    if (required.has(name) || property.default === undefined) continue;
    const said = `Default when omitted: ${JSON.stringify(property.default)}.`;
    property.description = property.description ? `${String(property.description)} ${said}` : said;
    delete property.default;
  }
}

function mapValues(object: Json, map: (value: unknown) => unknown): Json {
  return Object.fromEntries(Object.entries(object).map(([key, value]) => [key, map(value)]));
}
