import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { encodeUploadMetadata, parseByteCount, parseDeclaredSha256, parseUploadChecksum, parseUploadMetadata } from './headers';
import { checkUploadLimits, fileClassOf, normaliseContentType } from '../limits/limits';
import { assetEtag, ifNoneMatchMatches, ifRangeMatches, parseRange } from '../http/conditional';
import { S3_MAX_PARTS, S3_MIN_PART_BYTES, assetObjectKey, partSizeFor, tailObjectKey } from '../storage/layout';

const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('tus headers', () => {
  it('parses Upload-Metadata pairs, empty values and rejects duplicates or bad base64', () => {
    assert.deepEqual(parseUploadMetadata(`filename ${b64('cat.png')},is_confidential,contentType ${b64('image/png')}`), {
      ok: true,
      value: { filename: 'cat.png', is_confidential: null, contentType: 'image/png' },
    });
    assert.deepEqual(parseUploadMetadata(undefined), { ok: true, value: {} });
    assert.equal(parseUploadMetadata(`a ${b64('x')},a ${b64('y')}`).ok, false);
    assert.equal(parseUploadMetadata('a not*base64').ok, false);
    assert.equal(parseUploadMetadata('a b c').ok, false);
    const round = { filename: 'ünïcode.txt', flag: null };
    assert.deepEqual(parseUploadMetadata(encodeUploadMetadata(round)), { ok: true, value: round });
  });

  it('refuses an Upload-Metadata value that is not text Postgres can store (NUL, invalid UTF-8), naming its key', () => {
    const nul = parseUploadMetadata(`filename ${b64('a\u0000b.png')}`);
    assert.ok(!nul.ok);
    assert.equal(nul.key, 'filename');
    assert.match(nul.detail, /U\+0000/);
    const latin1 = parseUploadMetadata(`contentType ${b64('image/png')},filename ${Buffer.from([0x63, 0xe9, 0x2e, 0x70]).toString('base64')}`);
    assert.ok(!latin1.ok);
    assert.equal(latin1.key, 'filename');
    assert.match(latin1.detail, /not valid UTF-8/);
  });

  it('parses Upload-Checksum for sha1 and sha256 only, with digests of the right length', () => {
    const sha1 = createHash('sha1').update('x').digest();
    assert.deepEqual(parseUploadChecksum(`sha1 ${sha1.toString('base64')}`), { ok: true, value: { algorithm: 'sha1', hex: sha1.toString('hex') } });
    const sha256 = createHash('sha256').update('x').digest();
    assert.deepEqual(parseUploadChecksum(`sha256 ${sha256.toString('base64')}`), { ok: true, value: { algorithm: 'sha256', hex: sha256.toString('hex') } });
    assert.deepEqual(parseUploadChecksum(undefined), { ok: true, value: undefined });
    assert.match(String((parseUploadChecksum(`md5 ${sha1.toString('base64')}`) as { detail: string }).detail), /unsupported algorithm "md5"/);
    assert.equal(parseUploadChecksum(`sha256 ${sha1.toString('base64')}`).ok, false, 'a sha1-sized digest is not a sha256');
    assert.equal(parseUploadChecksum('sha256').ok, false);
  });

  it('reads the declared sha256 as base64 or hex', () => {
    const digest = createHash('sha256').update('x').digest();
    assert.deepEqual(parseDeclaredSha256(digest.toString('base64')), { ok: true, value: digest.toString('hex') });
    assert.deepEqual(parseDeclaredSha256(digest.toString('hex').toUpperCase()), { ok: true, value: digest.toString('hex') });
    assert.equal(parseDeclaredSha256(undefined).ok, false);
    assert.equal(parseDeclaredSha256(b64('short')).ok, false);
  });

  it('reads byte counts strictly', () => {
    assert.deepEqual(parseByteCount('42', 'Upload-Offset'), { ok: true, value: 42 });
    for (const bad of ['-1', '1.5', 'abc', '', '99999999999999999']) assert.equal(parseByteCount(bad, 'Upload-Offset').ok, false, bad);
    assert.equal(parseByteCount(undefined, 'Upload-Offset').ok, false);
  });
});

describe('file classes and limits', () => {
  it('classes by top-level type; unknown or malformed types are handled', () => {
    assert.equal(fileClassOf('image/png'), 'image');
    assert.equal(fileClassOf('application/pdf'), 'application');
    assert.equal(fileClassOf('model/gltf+json'), 'other');
    assert.equal(normaliseContentType('Text/Plain; charset=utf-8'), 'text/plain');
    assert.equal(normaliseContentType(undefined), 'application/octet-stream');
    assert.equal(normaliseContentType('not a type'), undefined);
  });

  it('refuses above the class cap first, then above the workspace quota', () => {
    const limits = { maxBytes: { image: 10, audio: 10, video: 100, text: 5, application: 50, other: 1 }, workspaceQuotaBytes: 120 };
    assert.deepEqual(checkUploadLimits({ size: 11, fileClass: 'image', used: 0 }, limits), { ok: false, code: 'file-class-cap', fileClass: 'image', limit: 10, size: 11 });
    assert.deepEqual(checkUploadLimits({ size: 90, fileClass: 'video', used: 40 }, limits), { ok: false, code: 'workspace-quota', limit: 120, used: 40, size: 90 });
    assert.deepEqual(checkUploadLimits({ size: 80, fileClass: 'video', used: 40 }, limits), { ok: true });
  });
});

describe('ranges and entity tags', () => {
  it('answers single byte ranges exactly and ignores what it does not support', () => {
    assert.deepEqual(parseRange('bytes=0-9', 100), { kind: 'range', start: 0, end: 9 });
    assert.deepEqual(parseRange('bytes=90-', 100), { kind: 'range', start: 90, end: 99 });
    assert.deepEqual(parseRange('bytes=-10', 100), { kind: 'range', start: 90, end: 99 });
    assert.deepEqual(parseRange('bytes=-500', 100), { kind: 'range', start: 0, end: 99 });
    assert.deepEqual(parseRange('bytes=50-500', 100), { kind: 'range', start: 50, end: 99 });
    assert.deepEqual(parseRange('bytes=100-', 100), { kind: 'unsatisfiable' });
    assert.deepEqual(parseRange('bytes=-0', 100), { kind: 'unsatisfiable' });
    assert.deepEqual(parseRange('bytes=0-1,5-6', 100), { kind: 'whole' });
    assert.deepEqual(parseRange('items=0-1', 100), { kind: 'whole' });
    assert.deepEqual(parseRange(undefined, 100), { kind: 'whole' });
  });

  it('matches If-None-Match weakly and If-Range strongly', () => {
    const etag = assetEtag('ab');
    assert.equal(ifNoneMatchMatches('"ab"', etag), true);
    assert.equal(ifNoneMatchMatches('W/"ab", "cd"', etag), true);
    assert.equal(ifNoneMatchMatches('*', etag), true);
    assert.equal(ifNoneMatchMatches('"cd"', etag), false);
    assert.equal(ifRangeMatches('"ab"', etag), true);
    assert.equal(ifRangeMatches('W/"ab"', etag), false);
  });
});

describe('bucket layout', () => {
  it('keys assets by workspace and sha256, tails by the part they will become', () => {
    assert.equal(assetObjectKey('w1', 'ab'), 'ws/w1/sha256/ab');
    assert.equal(tailObjectKey('u1', 3), 'uploads/u1/tail-00003');
  });

  it('raises the part size so a declared length fits in S3 parts', () => {
    assert.equal(partSizeFor(1024, 8 * 1024 * 1024), 8 * 1024 * 1024);
    assert.equal(partSizeFor(undefined, 1024), S3_MIN_PART_BYTES);
    const huge = 200 * 1024 ** 3;
    const size = partSizeFor(huge, 8 * 1024 * 1024);
    assert.ok(size * S3_MAX_PARTS >= huge && size % (1024 * 1024) === 0);
  });
});
