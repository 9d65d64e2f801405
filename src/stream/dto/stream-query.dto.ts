/** GET /metrics/stream takes no query parameters: any one is refused (400) by the validation pipe, as on every read. */
export class StreamQuery {}
