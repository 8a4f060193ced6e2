import { createHash, randomBytes } from 'node:crypto';
import { SignJWT, decodeProtectedHeader, errors, jwtVerify } from 'jose';

/**
 * Tokens. Access tokens are HS256 JWTs signed with the first configured key and verified with any of
 * them (keys carry a `kid`, so a rotation is: put the new key first, drop the old one once every token
 * it signed has expired). Refresh tokens are opaque random strings; only their SHA-256 is stored.
 */
export const ISSUER = 'tidemark';
export const DEVICE_AUDIENCE = 'tidemark-device';
export const OPERATOR_AUDIENCE = 'tidemark-operator';
export const OPERATOR_ROLES = ['ops', 'admin'] as const;
export type OperatorRole = (typeof OPERATOR_ROLES)[number];

export interface SigningKey {
  kid: string;
  secret: Uint8Array;
}

/** Parses `kid:base64url-secret,…`; the first key signs. */
export function parseSigningKeys(spec: string): SigningKey[] {
  const keys = spec.split(',').map((part) => {
    const at = part.indexOf(':');
    const kid = part.slice(0, at);
    const secret = Buffer.from(part.slice(at + 1), 'base64url');
    if (at < 1 || secret.length < 32) throw new Error(`signing key "${kid || part.slice(0, 8)}" must be kid:secret with a secret of at least 32 bytes (base64url)`);
    return { kid, secret: new Uint8Array(secret) };
  });
  if (new Set(keys.map((k) => k.kid)).size !== keys.length) throw new Error('signing key ids must be distinct');
  return keys;
}

/** A fresh key spec for a new deployment: `kid:secret`. */
export function generateSigningKey(kid = `k${Date.now().toString(36)}`): string {
  return `${kid}:${randomBytes(32).toString('base64url')}`;
}

export interface DeviceClaims {
  workspace: string;
  deviceId: string;
  site: string | null;
  /** The device's token generation: a revocation or re-enrolment bumps it, invalidating older tokens at once. */
  generation: number;
}

export interface OperatorClaims {
  name: string;
  roles: OperatorRole[];
}

export type VerifiedToken = ({ kind: 'device'; tokenId: string; expiresAt: number } & DeviceClaims) | ({ kind: 'operator'; tokenId: string; expiresAt: number } & OperatorClaims);

/** Why a token was refused; each maps to a precise 401. */
export type TokenFailure = 'malformed' | 'bad-signature' | 'expired' | 'unknown-key' | 'invalid-claims';

export class TokenError extends Error {
  constructor(
    readonly failure: TokenFailure,
    message: string,
  ) {
    super(message);
    this.name = 'TokenError';
  }
}

const seconds = (date: Date): number => Math.floor(date.getTime() / 1000);

/** Seconds of clock skew allowed when checking a token's expiry. */
export const CLOCK_TOLERANCE_SECONDS = 5;

export class TokenService {
  private readonly keys: SigningKey[];

  constructor(keySpec: string) {
    this.keys = parseSigningKeys(keySpec);
  }

  async issueDeviceAccess(claims: DeviceClaims, now: Date, ttlSeconds: number): Promise<{ token: string; expiresAt: Date }> {
    const key = this.keys[0]!;
    const exp = seconds(now) + ttlSeconds;
    const token = await new SignJWT({ typ: 'device', ws: claims.workspace, site: claims.site, gen: claims.generation })
      .setProtectedHeader({ alg: 'HS256', kid: key.kid })
      .setIssuer(ISSUER)
      .setAudience(DEVICE_AUDIENCE)
      .setSubject(claims.deviceId)
      .setJti(randomBytes(12).toString('base64url'))
      .setIssuedAt(seconds(now))
      .setExpirationTime(exp)
      .sign(key.secret);
    return { token, expiresAt: new Date(exp * 1000) };
  }

  async issueOperator(claims: OperatorClaims, now: Date, ttlSeconds: number): Promise<{ token: string; tokenId: string; expiresAt: Date }> {
    const key = this.keys[0]!;
    const exp = seconds(now) + ttlSeconds;
    const tokenId = randomBytes(12).toString('base64url');
    const token = await new SignJWT({ typ: 'operator', roles: [...new Set(claims.roles)].sort() })
      .setProtectedHeader({ alg: 'HS256', kid: key.kid })
      .setIssuer(ISSUER)
      .setAudience(OPERATOR_AUDIENCE)
      .setSubject(claims.name)
      .setJti(tokenId)
      .setIssuedAt(seconds(now))
      .setExpirationTime(exp)
      .sign(key.secret);
    return { token, tokenId, expiresAt: new Date(exp * 1000) };
  }

  /** Verifies signature, issuer, audience and expiry (at `now`), and the claims' shape. */
  async verify(token: string, now: Date): Promise<VerifiedToken> {
    let kid: string | undefined;
    try {
      const header = decodeProtectedHeader(token);
      if (header.alg !== 'HS256') throw new TokenError('malformed', `algorithm ${String(header.alg)} is not accepted (HS256 only)`);
      kid = header.kid;
    } catch (error) {
      if (error instanceof TokenError) throw error;
      throw new TokenError('malformed', 'the token is not a JWT');
    }
    const key = this.keys.find((k) => k.kid === kid);
    if (!key) throw new TokenError('unknown-key', `the token was signed with key "${kid ?? '(none)'}", which this deployment does not hold`);
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, key.secret, {
        issuer: ISSUER,
        audience: [DEVICE_AUDIENCE, OPERATOR_AUDIENCE],
        algorithms: ['HS256'],
        currentDate: now,
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
      }));
    } catch (error) {
      if (error instanceof errors.JWTExpired) throw new TokenError('expired', 'the token has expired; refresh it');
      if (error instanceof errors.JWSSignatureVerificationFailed) throw new TokenError('bad-signature', 'the token signature does not verify');
      if (error instanceof errors.JWTClaimValidationFailed) throw new TokenError('invalid-claims', `the token's "${error.claim}" claim is not valid: ${error.reason}`);
      throw new TokenError('malformed', `the token cannot be read: ${(error as Error).message}`);
    }
    const tokenId = typeof payload.jti === 'string' ? payload.jti : '';
    const subject = typeof payload.sub === 'string' ? payload.sub : '';
    const expiresAt = typeof payload.exp === 'number' ? payload.exp : 0;
    if (!tokenId || !subject) throw new TokenError('invalid-claims', 'the token has no subject or id');
    if (payload.typ === 'device' && payload.aud === DEVICE_AUDIENCE) {
      if (typeof payload.ws !== 'string' || typeof payload.gen !== 'number' || !(payload.site === null || typeof payload.site === 'string')) {
        throw new TokenError('invalid-claims', 'the device token lacks its workspace, site or generation');
      }
      return { kind: 'device', tokenId, expiresAt, workspace: payload.ws, deviceId: subject, site: payload.site, generation: payload.gen };
    }
    if (payload.typ === 'operator' && payload.aud === OPERATOR_AUDIENCE) {
      const roles = Array.isArray(payload.roles) ? payload.roles.filter((r): r is OperatorRole => (OPERATOR_ROLES as readonly unknown[]).includes(r)) : [];
      return { kind: 'operator', tokenId, expiresAt, name: subject, roles };
    }
    throw new TokenError('invalid-claims', 'the token is neither a device nor an operator token');
  }

  /** A token verified earlier, checked again for expiry at `now` (the rule and tolerance of `verify`). */
  assertUnexpired(verified: VerifiedToken, now: Date): void {
    if (verified.expiresAt <= seconds(now) - CLOCK_TOLERANCE_SECONDS) throw new TokenError('expired', 'the token has expired; refresh it');
  }
}

const VERIFIED = Symbol('tidemark.verified-token');

/**
 * Verifies a request's bearer token once for the whole request: the push admission hook (before the body is
 * read) and the guard (after) both need its claims, and an HMAC check with its JSON decoding is not free.
 * The memo lives on the request object and holds for the same token string only; a later caller gets the
 * same claims, or the same refusal, with the expiry checked again at its own `now`.
 */
export async function verifyRequestToken(tokens: TokenService, request: object, token: string, now: Date): Promise<VerifiedToken> {
  const holder = request as { [VERIFIED]?: { token: string; verified: Promise<VerifiedToken> } };
  const memo = holder[VERIFIED];
  if (memo?.token === token) {
    const verified = await memo.verified;
    tokens.assertUnexpired(verified, now);
    return verified;
  }
  const verified = tokens.verify(token, now);
  verified.catch(() => undefined); // a refusal is answered by whoever awaits it
  holder[VERIFIED] = { token, verified };
  return verified;
}

/** A new opaque refresh token and the hash that is stored for it. */
export function newRefreshToken(): { token: string; hash: string } {
  const token = `tmr_${randomBytes(32).toString('base64url')}`;
  return { token, hash: hashRefreshToken(token) };
}

export function hashRefreshToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
