import 'reflect-metadata';
import { setFlagsFromString } from 'node:v8';
import { withDeferredDateFormats } from './common/deferred-date-formats.js';
import { AppConfig, ConfigValidationError, loadConfig } from './config/app-config.js';
import { loadEnvFile } from './config/env-file.js';
import { prepareEmbeddedDataDirectory } from './database/embedded-data-directory.js';

async function bootstrap(): Promise<void> {
  let config: AppConfig;
  try {
    loadEnvFile();
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigValidationError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  // V8 reads this factor at every full collection, so setting it before the app starts is enough (docs/performance.md).
  if (config.HEAP_GROWING_PERCENT > 0) setFlagsFromString(`--heap-growing-percent=${config.HEAP_GROWING_PERCENT}`);
  // A new embedded data directory is created before the application's modules load: the initdb child's peak then
  // adds to a small service process, which keeps the first start's process tree under 400 MB.
  if (config.embeddedDatabase) await prepareEmbeddedDataDirectory(config.EMBEDDED_DATA_DIR);
  // Nest's logger modules build date formatters as they load, which would keep ~9 MB of ICU data resident unused.
  const { serve } = withDeferredDateFormats(() => require('./serve.js') as typeof import('./serve.js'));
  await serve(config);
}

void bootstrap();
