import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

/**
 * The physical anchors the bench compares the service with, each in its own process like the service:
 * `express <port> <body file> <content type>`: a bare Express 5 app answering GET /health/live with the same JSON;
 * `http <port> <body file> <headers file>`: a bare node:http server answering every request with the same bytes: the
 * body, and the header lines of the headers file (a JSON array of [name, value] pairs, as the service sent them;
 * node:http adds Date, Connection and Keep-Alive to both alike).
 * Prints "listening <port>" once ready (port 0 picks a free one).
 */
async function main(): Promise<void> {
  const [kind, port, bodyFile, detail] = process.argv.slice(2);
  const body = readFileSync(bodyFile);
  let listening: { address(): unknown };
  if (kind === 'express') {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const express = require('express') as () => { get(path: string, handler: (req: unknown, res: { type(t: string): { send(b: Buffer): void } }) => void): void; listen(port: number, host: string, done: () => void): { address(): unknown } };
    const app = express();
    app.get('/health/live', (_req, res) => res.type(detail).send(body));
    await new Promise<void>((done) => (listening = app.listen(Number(port), '127.0.0.1', done)));
  } else if (kind === 'http') {
    // Flat [name, value, name, value, …]: node:http writes each pair as given, names in the service's own case.
    const headers = (JSON.parse(readFileSync(detail, 'utf8')) as [string, string][]).flat();
    const server = createServer((_req, res) => {
      res.writeHead(200, headers);
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
