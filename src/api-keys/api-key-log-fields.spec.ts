import { logFieldsOf } from '../correlation/request-context.js';

describe('log fields of a request made with an API key', () => {
  it('carry api_key_id instead of user_id', () => {
    const ids = { correlationId: 'c-1', requestId: 'r-1', organizationId: 'o-1' };
    expect(logFieldsOf({ ...ids, apiKeyId: 'k-1' })).toEqual({ correlation_id: 'c-1', request_id: 'r-1', organization_id: 'o-1', api_key_id: 'k-1' });
    expect(logFieldsOf({ ...ids, userId: 'u-1' })).toEqual({ correlation_id: 'c-1', request_id: 'r-1', organization_id: 'o-1', user_id: 'u-1' });
  });
});
