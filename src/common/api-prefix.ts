/** Every tenant route lives under this prefix (the operations routes /health and /metrics are excluded from it). */
export const API_PREFIX = 'api/v1';
