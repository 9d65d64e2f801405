import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { AppConfig } from '../config/app-config.js';
import { problem } from '../errors/problem.js';
import { formatDuration } from './correlation-headers.js';

const STATUS_BY_CODE: Record<string, { status: number; detail: string }> = {
  HPE_HEADER_OVERFLOW: { status: 431, detail: 'The request headers are too large' },
  HPE_REQUEST_TIMEOUT: { status: 408, detail: 'The request took too long to arrive' },
  // Node's own headersTimeout / requestTimeout (HTTP_HEADERS_TIMEOUT_MS, HTTP_REQUEST_TIMEOUT_MS).
  ERR_HTTP_REQUEST_TIMEOUT: { status: 408, detail: 'The request took too long to arrive' },
};
const MALFORMED = { status: 400, detail: 'The request is not valid HTTP (for instance a control character in a header)' };

/**
 * Requests Node's HTTP parser rejects (control characters in a header, headers over the size limit)
 * never reach Express. Node would answer them with a bare status line; answer them as problem+json
 * with the correlation headers like every other response, under a fresh correlation id.
 */
export function answerClientErrors(server: Server, config: AppConfig, logger: Logger): void {
  server.headersTimeout = config.HTTP_HEADERS_TIMEOUT_MS;
  server.requestTimeout = config.HTTP_REQUEST_TIMEOUT_MS;
  // Node checks both timeouts on this interval (30 s by default, read when the server starts listening):
  // check every second so that a 10 s limit is 10 s, not up to 40.
  (server as Server & { connectionsCheckingInterval: number }).connectionsCheckingInterval = Math.min(1000, config.HTTP_HEADERS_TIMEOUT_MS);
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (error.code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent) {
      socket.destroy();
      return;
    }
    const { status, detail } = STATUS_BY_CODE[error.code ?? ''] ?? MALFORMED;
    const correlationId = randomUUID();
    const requestId = randomUUID();
    const body = JSON.stringify(problem(status, detail, '', correlationId));
    const head = [
      `HTTP/1.1 ${status} ${problem(status, '', '', null).title}`,
      'Content-Type: application/problem+json; charset=utf-8',
      `Content-Length: ${Buffer.byteLength(body)}`,
      `X-Correlation-ID: ${correlationId}`,
      `X-Request-ID: ${requestId}`,
      `X-Service-Name: ${config.SERVICE_NAME}`,
      'X-Chain-Depth: 1',
      'X-Content-Type-Options: nosniff',
      `X-Request-Duration: ${formatDuration(0)}`,
      'Connection: close',
    ];
    logger.warn({ correlation_id: correlationId, request_id: requestId, status, code: error.code ?? null }, 'malformed request rejected by the HTTP parser');
    socket.end(`${head.join('\r\n')}\r\n\r\n${body}`);
  });
}
