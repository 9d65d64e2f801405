import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '..');
// Spelt in pieces so that this file does not find itself.
const FORBIDDEN = ['SP' + 'EC', '\u00a7', '../sha' + 'red'];

/** Every tracked text file of the repository: README, docs, code, comments, tests, bench, configuration. */
function trackedFiles(): string[] {
  return execFileSync('git', ['ls-files', '-z'], { cwd: ROOT, encoding: 'utf8' })
    .split('\0')
    .filter(Boolean)
    .filter((file) => file !== 'package-lock.json');
}

describe('the product stands on its own', () => {
  it('has no tracked file that points to the builders’ specification or to a folder outside the repository', () => {
    const files = trackedFiles();
    expect(files).toEqual(expect.arrayContaining(['README.md', 'src/main.ts', 'jest.config.js']));
    const hits: string[] = [];
    for (const file of files) {
      const text = readFileSync(join(ROOT, file));
      if (text.includes(0)) continue; // binary
      text
        .toString('utf8')
        .split('\n')
        .forEach((line, index) => {
          for (const word of FORBIDDEN) if (line.includes(word)) hits.push(`${file}:${index + 1}: ${line.trim()}`);
        });
    }
    expect(hits).toEqual([]);
  });
});
