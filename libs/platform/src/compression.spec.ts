import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { brotliDecompressSync, createBrotliDecompress, createGunzip, gunzipSync } from 'node:zlib';
import { compress, compressingStream, negotiateEncoding } from './compression';

describe('answer compression', { timeout: 5000 }, () => {
  it('negotiates br before gzip, honours q=0 and the wildcard, and answers none when nothing fits', () => {
    assert.equal(negotiateEncoding('gzip, br'), 'br');
    assert.equal(negotiateEncoding('gzip, deflate'), 'gzip');
    assert.equal(negotiateEncoding('br;q=0, gzip;q=0.5'), 'gzip');
    assert.equal(negotiateEncoding('BR'), 'br');
    assert.equal(negotiateEncoding('*'), 'br');
    assert.equal(negotiateEncoding('*;q=0, gzip'), 'gzip');
    assert.equal(negotiateEncoding('identity'), undefined);
    assert.equal(negotiateEncoding('deflate'), undefined);
    assert.equal(negotiateEncoding('gzip;q=0'), undefined);
    assert.equal(negotiateEncoding(''), undefined);
    assert.equal(negotiateEncoding(undefined), undefined);
    assert.equal(negotiateEncoding(['deflate', 'x-gzip']), 'gzip');
  });

  it('compresses whole answers so they decode to the same bytes', async () => {
    const body = Buffer.from(JSON.stringify({ changes: Array.from({ length: 200 }, (_, i) => ({ entity: { type: 'annotation', id: `img-${i}` }, state: { label: 'cat' } })) }));
    const br = await compress(body, 'br');
    const gz = await compress(body, 'gzip');
    assert.ok(br.length < body.length / 5 && gz.length < body.length / 5, `${body.length} → br ${br.length}, gzip ${gz.length}`);
    assert.deepEqual(brotliDecompressSync(br), body);
    assert.deepEqual(gunzipSync(gz), body);
  });

  for (const encoding of ['gzip', 'br'] as const) {
    it(`flushes a ${encoding} stream so every frame written so far decodes at once, before the stream ends`, async () => {
      const { stream, flush } = compressingStream(encoding);
      const decoder = encoding === 'gzip' ? createGunzip() : createBrotliDecompress();
      stream.pipe(decoder);
      let decoded = '';
      const frames = ['event: change\ndata: {"label":"cat"}\n\n', ': keep-alive\n\n'];
      for (const frame of frames) {
        const arrived = new Promise<void>((resolve) => {
          const onData = (chunk: Buffer): void => {
            decoded += chunk.toString();
            if (decoded.endsWith(frame)) {
              decoder.off('data', onData);
              resolve();
            }
          };
          decoder.on('data', onData);
        });
        stream.write(frame);
        flush();
        await arrived; // never resolves (the test times out) if the frame waits in the encoder
      }
      assert.equal(decoded, frames.join(''));
      stream.end();
    });
  }
});
