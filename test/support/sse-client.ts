import { request as httpRequest, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestApp } from './test-app';

export interface StreamEvent {
  event: string;
  data: any;
  id?: string;
  /** When it arrived (Date.now()). */
  at: number;
}

export interface OpenStream {
  status: number;
  headers: IncomingMessage['headers'];
  /** The parsed body of a refused request (problem+json). */
  body: any;
  events: StreamEvent[];
  comments: string[];
  retry?: number;
  /** Resolves with the first event (already received or coming) that matches, or rejects after timeoutMs. */
  next(predicate: (event: StreamEvent) => boolean, timeoutMs?: number): Promise<StreamEvent>;
  /** Resolves when the server ends the stream. */
  ended: Promise<void>;
  close(): void;
}

/** The port the app listens on, listening on a free one first if it does not yet. */
export async function listeningPort(testApp: TestApp): Promise<number> {
  const server = testApp.app.getHttpServer();
  if (!server.listening) await testApp.app.listen(0, '127.0.0.1');
  return (server.address() as AddressInfo).port;
}

/** Opens GET /api/v1/metrics/stream as a browser's fetch() would, parsing the event stream as it arrives. */
export async function openStream(testApp: TestApp, token: string, headers: Record<string, string> = {}): Promise<OpenStream> {
  const port = await listeningPort(testApp);
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      { host: '127.0.0.1', port, path: '/api/v1/metrics/stream', headers: { Authorization: `Bearer ${token}`, Accept: 'text/event-stream', ...headers } },
      (response) => {
        const waiters: { predicate: (event: StreamEvent) => boolean; resolve: (event: StreamEvent) => void }[] = [];
        let endStream!: () => void;
        const stream: OpenStream = {
          status: response.statusCode ?? 0,
          headers: response.headers,
          body: undefined,
          events: [],
          comments: [],
          ended: new Promise<void>((done) => (endStream = done)),
          next(predicate, timeoutMs = 2_000) {
            const found = stream.events.find(predicate);
            if (found) return Promise.resolve(found);
            return new Promise((done, fail) => {
              const timer = setTimeout(() => fail(new Error(`no matching event within ${timeoutMs} ms; got ${stream.events.map((e) => e.event).join(', ')}`)), timeoutMs);
              waiters.push({ predicate, resolve: (event) => (clearTimeout(timer), done(event)) });
            });
          },
          close: () => request.destroy(),
        };
        response.setEncoding('utf8');
        let buffer = '';
        response.on('data', (chunk: string) => {
          buffer += chunk;
          if (stream.status !== 200) return;
          let boundary: number;
          while ((boundary = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, boundary);
            buffer = buffer.slice(boundary + 2);
            const fields: Record<string, string> = {};
            for (const line of block.split('\n')) {
              if (line.startsWith(':')) stream.comments.push(line.slice(1).trim());
              else {
                const colon = line.indexOf(':');
                fields[line.slice(0, colon)] = line.slice(colon + 1).replace(/^ /, '');
              }
            }
            if (fields.retry !== undefined) stream.retry = Number(fields.retry);
            if (fields.event === undefined) continue;
            const event: StreamEvent = { event: fields.event, data: JSON.parse(fields.data), id: fields.id, at: Date.now() };
            stream.events.push(event);
            for (const waiter of [...waiters]) {
              if (waiter.predicate(event)) {
                waiters.splice(waiters.indexOf(waiter), 1);
                waiter.resolve(event);
              }
            }
          }
        });
        const finish = () => {
          if (stream.status !== 200 && buffer) stream.body = JSON.parse(buffer);
          endStream();
        };
        response.on('end', finish);
        response.on('close', finish);
        response.on('error', () => undefined);
        if (stream.status === 200) resolve(stream);
        else response.on('end', () => resolve(stream));
      },
    );
    request.on('error', (error) => reject(error));
    request.end();
  });
}
