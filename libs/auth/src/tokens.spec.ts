import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TokenError, TokenService, generateSigningKey, verifyRequestToken, type VerifiedToken } from './tokens';
import { confirmStanding } from './guard';

/** A token service that counts its signature checks. */
class CountingTokens extends TokenService {
  checks = 0;
  override verify(token: string, now: Date): Promise<VerifiedToken> {
    this.checks++;
    return super.verify(token, now);
  }
}

describe('a request token verified once', () => {
  const now = new Date('2026-12-07T12:00:00Z');
  const claims = { workspace: 'ws', deviceId: 'd1', site: null, generation: 3 };

  it('checks the signature once per request and token, and hands every later caller the same claims', async () => {
    const tokens = new CountingTokens(generateSigningKey('k1'));
    const { token } = await tokens.issueDeviceAccess(claims, now, 600);
    const request = {};
    const first = await verifyRequestToken(tokens, request, token, now);
    const second = await verifyRequestToken(tokens, request, token, new Date(now.getTime() + 1000));
    assert.equal(tokens.checks, 1);
    assert.deepEqual(second, first);
    await verifyRequestToken(tokens, {}, token, now);
    assert.equal(tokens.checks, 2, 'another request verifies for itself');
    const { token: other } = await tokens.issueDeviceAccess({ ...claims, deviceId: 'd2' }, now, 600);
    assert.equal((await verifyRequestToken(tokens, request, other, now)).kind === 'device' && (await verifyRequestToken(tokens, request, other, now)).kind, 'device');
    assert.equal(tokens.checks, 3, 'another token on the same request is verified, then remembered');
  });

  it('checks the expiry again at the later caller’s time, and remembers a refusal', async () => {
    const tokens = new CountingTokens(generateSigningKey('k1'));
    const { token } = await tokens.issueDeviceAccess(claims, now, 60);
    const request = {};
    await verifyRequestToken(tokens, request, token, now);
    await assert.rejects(verifyRequestToken(tokens, request, token, new Date(now.getTime() + 66_000)), (e: unknown) => e instanceof TokenError && e.failure === 'expired');
    await assert.doesNotReject(verifyRequestToken(tokens, request, token, new Date(now.getTime() + 64_000)), 'within the clock tolerance, as verify allows');

    const forged = (await new TokenService(generateSigningKey('k1')).issueDeviceAccess(claims, now, 60)).token;
    const refused = {};
    for (let i = 0; i < 2; i++) await assert.rejects(verifyRequestToken(tokens, refused, forged, now), (e: unknown) => e instanceof TokenError && e.failure === 'bad-signature');
    assert.equal(tokens.checks, 2, 'the refusal was remembered for the request');
  });

  it('turns a verified device token into a principal only while its device is active and of its generation', () => {
    const unconfirmed = { kind: 'device' as const, ...claims, tokenId: 't', expiresAt: 0 };
    assert.equal(confirmStanding({ unconfirmed }, { status: 'active', generation: 3 }), unconfirmed);
    for (const standing of [undefined, { status: 'revoked', generation: 3 }, { status: 'active', generation: 4 }]) {
      assert.throws(
        () => confirmStanding({ unconfirmed }, standing),
        (e: { problem?: { status: number; code: string } }) => e.problem?.status === 401 && e.problem.code === 'token-revoked',
      );
    }
  });
});
