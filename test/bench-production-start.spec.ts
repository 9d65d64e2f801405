import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseProductionStart, productionStart } from '../bench/production-start';

const ROOT = resolve(__dirname, '..');

describe('the bench starts the service as npm run start:prod does', () => {
  let root: string;
  beforeAll(() => {
    // A stand-in for dist/main that reports what it was started with.
    root = mkdtempSync(join(tmpdir(), 'start-prod-'));
    mkdirSync(join(root, 'dist'));
    writeFileSync(join(root, 'dist/main.js'), `process.stdout.write(JSON.stringify({ arenas: process.env.MALLOC_ARENA_MAX ?? null, flags: process.execArgv }));`);
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it("reads the environment and the node flags of the repository's own start:prod", () => {
    const command = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts['start:prod'];
    const start = productionStart(ROOT);
    expect(start.env).toEqual({ MALLOC_ARENA_MAX: '2' });
    expect(start.args).toEqual(['--max-semi-space-size=4', '--no-maglev', '--no-allocation-site-pretenuring', join(ROOT, 'dist/main.js')]);
    expect(parseProductionStart(command, ROOT)).toEqual(start);
  });

  it('gives the process what the shell gives it when npm runs the same line', () => {
    const command = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts['start:prod'];
    // npm runs a script with sh -c in the package's directory, node found on PATH.
    const env = { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH}`, MALLOC_ARENA_MAX: '8' };
    const throughShell = JSON.parse(execFileSync('sh', ['-c', command], { cwd: root, env }).toString());
    const start = parseProductionStart(command, root);
    const byBench = JSON.parse(execFileSync(process.execPath, start.args, { cwd: root, env: { ...env, ...start.env } }).toString());
    expect(byBench).toEqual(throughShell);
    expect(throughShell).toEqual({ arenas: '2', flags: ['--max-semi-space-size=4', '--no-maglev', '--no-allocation-site-pretenuring'] });
  });

  it('refuses a start:prod it could not repeat exactly', () => {
    for (const command of ['node dist/main --inspect', 'npm start', 'MALLOC_ARENA_MAX=2 bash -c node', 'exec node --x dist/main.js', 'node -r x dist/main']) {
      expect(() => parseProductionStart(command, root)).toThrow(/start:prod/);
    }
    expect(parseProductionStart('A=1 B_2=x exec node dist/main', root)).toEqual({ env: { A: '1', B_2: 'x' }, args: [join(root, 'dist/main.js')] });
  });
});
