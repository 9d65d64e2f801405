import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The node arguments of `npm run start:prod` (package.json: `exec node <flags> dist/main`), with the entry point
 * resolved under `root`: the bench starts the service exactly as production does, V8 flags included, and still
 * knows the service's own process id (npm would stand in between).
 */
export function productionNodeArguments(root: string): string[] {
  const packageJson = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  const command = packageJson.scripts['start:prod'];
  const words = command.trim().split(/\s+/);
  const start = words[0] === 'exec' ? 1 : 0;
  if (words[start] !== 'node' || words.at(-1) !== 'dist/main') throw new Error(`start:prod must be "[exec] node [flags] dist/main", not "${command}"`);
  const flags = words.slice(start + 1, -1);
  if (flags.some((flag) => !flag.startsWith('--'))) throw new Error(`start:prod passes node something other than flags: "${command}"`);
  return [...flags, join(root, 'dist/main.js')];
}
