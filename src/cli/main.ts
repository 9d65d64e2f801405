import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { Presets, SingleBar } from 'cli-progress';
import { CommanderError } from 'commander';
import { AppConfig, ConfigValidationError, loadConfig } from '../config/app-config.js';
import { CliError } from './cli-error.js';
import { CliModule } from './cli.module.js';
import { buildProgram } from './program.js';

function progressBar() {
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

async function main(): Promise<number> {
  const program = buildProgram({
    config: () => loadConfig(),
    openContext: (config: AppConfig) =>
      NestFactory.createApplicationContext(CliModule.withConfig(config), { logger: ['error', 'warn'], abortOnError: false }),
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
    progress: progressBar,
  });
  try {
    await program.parseAsync(process.argv);
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    if (error instanceof CliError || error instanceof ConfigValidationError) {
      process.stderr.write(`${error.message}\n`);
      return error instanceof CliError ? error.exitCode : 1;
    }
    process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
    return 1;
  }
}

// Exit explicitly: the work is done and the connections are closed; nothing should keep the process alive.
void main().then((code) => process.exit(code));
