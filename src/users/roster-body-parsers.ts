import type { NestExpressApplication } from '@nestjs/platform-express';
import express from 'express';
import { API_PREFIX } from '../common/api-prefix.js';
import type { AppConfig } from '../config/app-config.js';

export const ROSTER_IMPORT_PATH = `/${API_PREFIX}/users/import`;

/**
 * A roster of 50,000 rows is several MB: its route reads CSV and JSON up to IMPORT_BODY_LIMIT_BYTES. Mounted before
 * the global JSON parser, which then leaves the already-parsed body alone.
 */
export function installRosterBodyParsers(app: NestExpressApplication, config: AppConfig): void {
  app.use(ROSTER_IMPORT_PATH, express.text({ type: 'text/csv', limit: config.IMPORT_BODY_LIMIT_BYTES }));
  app.use(ROSTER_IMPORT_PATH, express.json({ limit: config.IMPORT_BODY_LIMIT_BYTES }));
}
