import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

/**
 * The physical anchors the bench compares the service with, each in its own process like the service:
 * `express <port> <body file> <content type>`: a bare Express 5 app answering GET /health/live with the same JSON;
 * `http <port> <body file> <content type>`: a bare node:http server answering every request with the same bytes.
 * Prints "listening <port>" once ready (port 0 picks a free one).
 */
async function main(): Promise<void> {
  const [kind, port, bodyFile, contentType] = process.argv.slice(2);
  const body = readFileSync(bodyFile);
  let listening: { address(): unknown };
  if (kind === 'express') {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const express = require('express') as () => { get(path: string, handler: (req: unknown, res: { type(t: string): { send(b: Buffer): void } }) => void): void; listen(port: number, host: string, done: () => void): { address(): unknown } };
    const app = express();
    app.get('/health/live', (_req, res) => res.type(contentType).send(body));
    await new Promise<void>((done) => (listening = app.listen(Number(port), '127.0.0.1', done)));
  } else if (kind === 'http') {
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': contentType, 'Content-Length': body.length });
      res.end(body);
    });
    await new Promise<void>((done) => server.listen(Number(port), '127.0.0.1', done));
    listening = server;
  } else {
    throw new Error(`Unknown bare server "${kind}": use express or http`);
  }
  process.stdout.write(`listening ${(listening!.address() as { port: number }).port}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
