import { TesseraError, hasCode } from '../../src/core/errors';

describe('TesseraError', () => {
  it('maps client errors to 400 and exposes them', () => {
    const err = new TesseraError('ERR_HANDOFF_EXPIRED', 'expired', { claim: 'exp' });
    expect(err.status).toBe(400);
    expect(err.expose).toBe(true);
    expect(err.claim).toBe('exp');
    expect(hasCode(err, 'ERR_HANDOFF_EXPIRED')).toBe(true);
    expect(hasCode(err, 'ERR_HANDOFF_REPLAYED')).toBe(false);
  });

  it('hides server errors from clients', () => {
    const err = new TesseraError('ERR_STORE_UNAVAILABLE', 'redis down');
    expect(err.status).toBe(503);
    expect(err.expose).toBe(false);
  });

  it('recognises codes on plain objects from another realm', () => {
    expect(hasCode({ code: 'ERR_NOT_FOUND' }, 'ERR_NOT_FOUND')).toBe(true);
    expect(hasCode(null, 'ERR_NOT_FOUND')).toBe(false);
  });
});
