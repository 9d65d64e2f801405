/** Server-Sent Events framing (the WHATWG "event stream" format); JSON data never holds a raw line break. */

export function sseEvent(event: string, data: unknown, id?: string): string {
  return `${id === undefined ? '' : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** A comment line: ignored by clients, keeps proxies and load balancers from closing an idle stream. */
export function sseComment(text: string): string {
  return `: ${text}\n\n`;
}

/** How long a client waits before reconnecting after the stream drops, in ms. */
export function sseRetry(milliseconds: number): string {
  return `retry: ${milliseconds}\n\n`;
}
