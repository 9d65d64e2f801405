import Module from 'node:module';
import { existsSync } from 'node:fs';
import { resolve, dirname } from 'node:path';

// jest's moduleNameMapper does not apply to globalSetup: map our relative "./x.js" imports to "./x.ts" there.
const moduleWithResolver = Module as unknown as { _resolveFilename: (request: string, parent: { filename?: string } | undefined, ...rest: unknown[]) => string };
const original = moduleWithResolver._resolveFilename;
moduleWithResolver._resolveFilename = function (request, parent, ...rest) {
  if (request.startsWith('.') && request.endsWith('.js') && parent?.filename) {
    const candidate = resolve(dirname(parent.filename), request.replace(/\.js$/, '.ts'));
    if (existsSync(candidate)) return candidate;
  }
  return original.call(this, request, parent, ...rest);
};
