import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FieldName, IdToken, LIMITS, SEQUENCE_LIMITS, SYNC_LIMITS, TypeName } from '@tidemark/contracts';
import { CLIENT_LIMITS } from './limits';
import { PATTERNS } from './outbox/check-event';

// The client copies the server's limits and identifier patterns instead of importing contracts at run time;
// these checks keep the copies equal to the source.
describe('client copies of the contracts', () => {
  it('limits equal LIMITS, SYNC_LIMITS and SEQUENCE_LIMITS', () => {
    const server: Record<string, number> = { ...LIMITS, ...SYNC_LIMITS, ...SEQUENCE_LIMITS };
    for (const [name, value] of Object.entries(CLIENT_LIMITS)) assert.equal(value, server[name], name);
  });

  it('identifier patterns equal the envelope schema', () => {
    assert.equal(PATTERNS.idToken.source, IdToken.pattern);
    assert.equal(PATTERNS.typeName.source, TypeName.pattern);
    assert.equal(PATTERNS.fieldName.source, FieldName.pattern);
  });
});
