import { takeViolations } from './openapi-response-validator';

// Runs after every test of every spec: a response that does not match /openapi.json fails the test that received it.
afterEach(async () => {
  // A response's 'close' can follow the client's receipt of its last byte by a tick.
  await new Promise((resolve) => setTimeout(resolve, 5));
  const violations = takeViolations();
  if (violations.length > 0) throw new Error(`Responses that do not match the OpenAPI document:\n${violations.join('\n')}`);
});
