import { flatUuid } from '../common/flat-uuid.js';

export const CORRELATION_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;
const TRACEPARENT_PATTERN = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

export interface IncomingCorrelation {
  correlationId: string;
  parentCorrelationId?: string;
  chainDepth: number;
  traceId?: string;
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** Reads the correlation headers; anything malformed is replaced, never echoed. */
export function readCorrelation(headers: Record<string, string | string[] | undefined>): IncomingCorrelation {
  const incoming = single(headers['x-correlation-id']);
  const valid = incoming !== undefined && CORRELATION_ID_PATTERN.test(incoming);
  const parent = single(headers['x-parent-correlation-id']);
  const depthHeader = single(headers['x-chain-depth']);
  const depth = depthHeader !== undefined && /^\d{1,6}$/.test(depthHeader) ? Number(depthHeader) : 0;
  const traceparent = single(headers['traceparent'])?.trim().toLowerCase();
  const trace = traceparent ? TRACEPARENT_PATTERN.exec(traceparent) : null;
  const traceId = trace && trace[1] !== 'ff' && !/^0+$/.test(trace[2]) && !/^0+$/.test(trace[3]) ? trace[2] : undefined;
  return {
    correlationId: valid ? incoming : flatUuid(),
    parentCorrelationId: parent !== undefined && CORRELATION_ID_PATTERN.test(parent) ? parent : undefined,
    chainDepth: depth + 1,
    traceId,
  };
}

export function formatDuration(seconds: number): string {
  return `${seconds.toFixed(3)}s`;
}
