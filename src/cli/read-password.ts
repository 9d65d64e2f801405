import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';

/**
 * A password for the CLI: at a terminal, typed at a prompt that does not echo it; otherwise the first line of standard
 * input (`echo "$PASSWORD" | npm run cli -- user:set-password ada@example.com`). Never an argument: arguments show in
 * the process list and the shell history.
 */
export async function readPassword(prompt: string, input: NodeJS.ReadableStream & { isTTY?: boolean } = process.stdin, output: NodeJS.WritableStream = process.stderr): Promise<string> {
  const interactive = input.isTTY === true;
  let muted = false;
  const echo = new Writable({
    write(chunk: Buffer, _encoding, done) {
      if (!muted) output.write(chunk);
      done();
    },
  });
  const lines = createInterface({ input, output: interactive ? echo : undefined, terminal: interactive });
  if (interactive) {
    output.write(prompt);
    muted = true;
  }
  try {
    for await (const line of lines) return line;
    return '';
  } finally {
    if (interactive) output.write('\n');
    lines.close();
  }
}
