import { describe, expect, it } from '@jest/globals';
import { RouteshiftError } from '../core/errors.js';
import { apiFailure, statusText, toKubeApiError } from './errors.js';

describe('Kubernetes API failures', () => {
  it('reads client-node ApiException bodies given as JSON text or as objects', () => {
    const text = { code: 403, body: JSON.stringify({ message: 'leases is forbidden', reason: 'Forbidden' }) };
    const object = { code: 422, body: { message: 'x is invalid', details: { causes: [{ field: 'spec', message: 'bad' }] } } };
    expect(apiFailure(text)).toMatchObject({ status: 403, body: { reason: 'Forbidden' } });
    expect(statusText(apiFailure(object).body)).toBe('x is invalid; bad');
    expect(apiFailure(new Error('connect ECONNREFUSED'))).toEqual({ status: undefined, body: undefined, message: 'connect ECONNREFUSED' });
  });

  it('becomes a KubeApiError whose transient says whether to try again', () => {
    const forbidden = toKubeApiError({ code: 403, body: '{"message":"forbidden","reason":"Forbidden"}' }, 'get Lease a/b');
    expect(forbidden.message).toBe('get Lease a/b: HTTP 403: forbidden');
    expect(forbidden).toBeInstanceOf(RouteshiftError);
    expect([forbidden.status, forbidden.reason, forbidden.transient]).toEqual([403, 'Forbidden', false]);
    expect(toKubeApiError({ code: 503, body: 'unavailable' }, 'list').transient).toBe(true);
    const network = toKubeApiError(new Error('socket hang up'), 'list');
    expect([network.status, network.transient, network.message]).toEqual([0, true, 'list: socket hang up']);
  });
});
