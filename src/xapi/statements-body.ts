import type { NestExpressApplication } from '@nestjs/platform-express';
import express, { type Request } from 'express';
import { isUtf8 } from 'node:buffer';
import type { IncomingMessage } from 'node:http';
import { API_PREFIX } from '../common/api-prefix.js';
import type { AppConfig } from '../config/app-config.js';

export const STATEMENTS_PATH = `/${API_PREFIX}/xapi/statements`;

const JSON_TEXT = Symbol('the statements as sent');
type WithText = IncomingMessage & { [JSON_TEXT]?: Buffer };

/**
 * The statements resource's JSON parser, mounted before the global one (which then leaves the parsed body alone). It
 * also keeps the bytes the body was parsed from, so that the statements are stored from the text the client sent
 * (PostgreSQL parses it once) rather than from a second serialization of the parsed objects.
 */
export function installStatementsBodyParser(app: NestExpressApplication, config: AppConfig): void {
  app.use(STATEMENTS_PATH, express.json({ limit: config.BODY_LIMIT_BYTES, verify: keepText }));
}

function keepText(request: IncomingMessage, _response: unknown, body: Buffer, encoding: string | null): void {
  // Only valid UTF-8 without a byte order mark is JSON text PostgreSQL reads as it is. The parser decodes other
  // charsets, drops the mark and replaces invalid bytes; such a body is serialized again from what was parsed.
  const utf8 = encoding === 'utf-8' || encoding === 'utf8';
  if (utf8 && !(body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf) && isUtf8(body)) (request as WithText)[JSON_TEXT] = body;
}

/** UTF-8 JSON text of the request's body: the bytes received when they are that, else the parsed body serialized. */
export function statementsText(request: Request, body: unknown): Buffer {
  return (request as WithText)[JSON_TEXT] ?? Buffer.from(JSON.stringify(body ?? null));
}
