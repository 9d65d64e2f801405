import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** How `npm run start:prod` starts the service: the environment it sets and the node arguments. */
export interface ProductionStart {
  /** `NAME=value` assignments before the command (MALLOC_ARENA_MAX). */
  env: Record<string, string>;
  /** node's flags, then the entry point resolved under the root. */
  args: string[];
}

const ASSIGNMENT = /^([A-Z_][A-Z0-9_]*)=(\S*)$/;

/**
 * `npm run start:prod` (package.json: `[NAME=value ...] [exec] node <flags> dist/main`) read back, so the bench starts
 * the service exactly as production does, environment and V8 flags included, and still knows the service's own
 * process id (npm would stand in between).
 */
export function productionStart(root: string): ProductionStart {
  const packageJson = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  return parseProductionStart(packageJson.scripts['start:prod'], root);
}

export function parseProductionStart(command: string, root: string): ProductionStart {
  const words = command.trim().split(/\s+/);
  const env: Record<string, string> = {};
  let at = 0;
  for (let match = ASSIGNMENT.exec(words[at] ?? ''); match; match = ASSIGNMENT.exec(words[++at] ?? '')) env[match[1]] = match[2];
  if (words[at] === 'exec') at++;
  if (words[at] !== 'node' || words.at(-1) !== 'dist/main') throw new Error(`start:prod must be "[NAME=value ...] [exec] node [flags] dist/main", not "${command}"`);
  const flags = words.slice(at + 1, -1);
  if (flags.some((flag) => !flag.startsWith('--'))) throw new Error(`start:prod passes node something other than flags: "${command}"`);
  return { env, args: [...flags, join(root, 'dist/main.js')] };
}
