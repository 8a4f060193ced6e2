import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CORS_ALLOWED_HEADERS, CORS_EXPOSED_HEADERS, parseCorsOrigins } from './cors';

describe('CORS policy', () => {
  it('reads CORS_ORIGINS as a list: trimmed, lower-cased, empty entries dropped', () => {
    assert.deepEqual(parseCorsOrigins(''), []);
    assert.deepEqual(parseCorsOrigins('*'), ['*']);
    assert.deepEqual(parseCorsOrigins('https://App.Example.com, http://localhost:5173,'), ['https://app.example.com', 'http://localhost:5173']);
  });

  it('allows the tus request headers and the bearer token, and exposes what a tus client and the SDK read', () => {
    for (const header of [
      'Authorization',
      'Content-Type',
      'Tus-Resumable',
      'Upload-Length',
      'Upload-Offset',
      'Upload-Metadata',
      'Upload-Defer-Length',
      'Upload-Concat',
      'X-HTTP-Method-Override',
      'Last-Event-ID',
      'If-None-Match',
    ]) {
      assert.ok((CORS_ALLOWED_HEADERS as readonly string[]).includes(header), header);
    }
    for (const header of ['Location', 'Upload-Offset', 'Upload-Length', 'Upload-Expires', 'Tus-Resumable', 'ETag', 'Content-Range', 'Retry-After']) {
      assert.ok((CORS_EXPOSED_HEADERS as readonly string[]).includes(header), header);
    }
  });
});
