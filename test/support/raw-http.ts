import { type Agent, request as httpRequest } from 'node:http';

export interface RawResponse {
  status: number;
  /** The header lines as the server sent them, `Name: value`, in order. */
  headerLines: string[];
  body: Buffer;
  /** Whether the request went out on a connection an earlier request had used (a keep-alive agent). */
  reusedSocket: boolean;
}

/**
 * One exchange with a server on 127.0.0.1 through node:http itself, no client library between: what was sent back,
 * byte for byte. A new connection each time unless an agent is given.
 */
export function rawRequest(
  port: number,
  options: { path: string; method?: string; headers?: Record<string, string>; agent?: Agent },
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      { host: '127.0.0.1', port, path: options.path, method: options.method ?? 'GET', headers: options.headers, agent: options.agent ?? false },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const headerLines: string[] = [];
          for (let i = 0; i < response.rawHeaders.length; i += 2) headerLines.push(`${response.rawHeaders[i]}: ${response.rawHeaders[i + 1]}`);
          resolve({ status: response.statusCode ?? 0, headerLines, body: Buffer.concat(chunks), reusedSocket: request.reusedSocket });
        });
      },
    );
    request.on('error', reject).end();
  });
}
