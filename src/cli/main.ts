import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { Presets, SingleBar } from 'cli-progress';
import { AppConfig, loadConfig } from '../config/app-config.js';
import { loadEnvFile } from '../config/env-file.js';
import { CliModule } from './cli.module.js';
import { runCli } from './program.js';
import type { SeedProgress } from './seed.command.js';

function progressBar(): SeedProgress {
  const bar = new SingleBar({ format: 'events {bar} {value}/{total} {percentage}% | {duration_formatted} elapsed, {eta_formatted} left', etaBuffer: 50 }, Presets.shades_classic);
  let value = 0;
  return {
    start: (total: number) => bar.start(total, 0),
    add: (count: number) => {
      value += count;
      // The total is an estimate until the last organization is written.
      if (value > bar.getTotal()) bar.setTotal(value);
      bar.increment(count);
    },
    stop: () => {
      bar.setTotal(value);
      bar.stop();
    },
  };
}

loadEnvFile();
void runCli(process.argv.slice(2), {
  config: () => loadConfig(),
  openContext: (config: AppConfig) => {
    // PGlite's files take one process at a time: a running service and the CLI must not share them.
    if (config.embeddedDatabase) process.stderr.write(`Using the embedded database at ${config.EMBEDDED_DATA_DIR}: stop the service first.\n`);
    return NestFactory.createApplicationContext(CliModule.withConfig(config), { logger: ['error', 'warn'], abortOnError: false });
  },
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  progress: progressBar,
  // Exit explicitly: the work is done and the connections are closed; nothing should keep the process alive.
}).then((code) => process.exit(code));
