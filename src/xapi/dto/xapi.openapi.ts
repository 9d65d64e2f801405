/** OpenAPI schemas of xAPI statements (the xAPI specification's JSON, not this service's snake_case DTOs). */
const languageMap = { type: 'object', additionalProperties: { type: 'string' }, description: 'Language map, e.g. {"en-US": "completed"}' };
const agent = {
  type: 'object',
  description: 'An Agent with exactly one of mbox, mbox_sha1sum, openid, account',
  additionalProperties: false,
  properties: {
    objectType: { type: 'string', enum: ['Agent'] },
    name: { type: 'string' },
    mbox: { type: 'string', pattern: '^mailto:', example: 'mailto:ada@school.example' },
    mbox_sha1sum: { type: 'string', pattern: '^[0-9a-fA-F]{40}$' },
    openid: { type: 'string', format: 'uri' },
    account: {
      type: 'object',
      additionalProperties: false,
      required: ['homePage', 'name'],
      properties: { homePage: { type: 'string', format: 'uri' }, name: { type: 'string', minLength: 1 } },
    },
  },
};
const open = { type: 'object', description: 'As the xAPI specification defines it' };

export const STATEMENT_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['actor', 'verb', 'object'],
  properties: {
    id: { type: 'string', format: 'uuid', description: 'Generated when absent' },
    actor: agent,
    verb: {
      type: 'object',
      additionalProperties: false,
      required: ['id'],
      properties: { id: { type: 'string', format: 'uri', example: 'http://adlnet.gov/expapi/verbs/completed' }, display: languageMap },
    },
    object: {
      type: 'object',
      description: 'An Activity ({id, definition?}) makes an event; an Agent, Group, StatementRef or SubStatement is stored only',
      properties: {
        objectType: { type: 'string', enum: ['Activity', 'Agent', 'Group', 'StatementRef', 'SubStatement'] },
        id: { type: 'string' },
        definition: {
          type: 'object',
          properties: { name: languageMap, description: languageMap, type: { type: 'string', format: 'uri' }, moreInfo: { type: 'string', format: 'uri' } },
        },
      },
    },
    result: {
      type: 'object',
      additionalProperties: false,
      properties: {
        score: {
          type: 'object',
          additionalProperties: false,
          properties: { scaled: { type: 'number', minimum: -1, maximum: 1 }, raw: { type: 'number' }, min: { type: 'number' }, max: { type: 'number' } },
        },
        success: { type: 'boolean' },
        completion: { type: 'boolean' },
        response: { type: 'string' },
        duration: { type: 'string', description: 'ISO 8601 duration', example: 'PT25M30S' },
        extensions: { type: 'object' },
      },
    },
    context: open,
    timestamp: { type: 'string', format: 'date-time', description: 'With a time zone; the stored time when absent' },
    stored: { type: 'string', format: 'date-time', description: 'Set by this service (any value sent is replaced)' },
    authority: { ...agent, description: 'Set by this service: the API key that sent the statement' },
    version: { type: 'string' },
    attachments: { type: 'array', items: { type: 'object' } },
  },
};

export const STORED_STATEMENT_SCHEMA = { ...STATEMENT_SCHEMA, required: ['id', 'actor', 'verb', 'object', 'timestamp', 'stored', 'authority'] };

export const VERSION_RESPONSE_HEADER = {
  'X-Experience-API-Version': { description: 'The xAPI version of the response: the highest spoken within the client’s major version', schema: { type: 'string', enum: ['1.0.3', '2.0.0'] } },
};
