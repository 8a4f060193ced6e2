import { createHash } from 'node:crypto';
import type { BinaryFetch } from '../assets/binary-fetch';

/**
 * An in-memory stand-in for asset-service's tus and download routes, for unit tests of the client: uploads
 * with offsets (409 on a wrong one), whole-file sha256 checked at the last byte, `HEAD /v1/assets/:sha256`
 * (dedupe), downloads. `cutAfterPatches` makes the n-th next PATCH fail as a network error after the server
 * kept its bytes (a connection cut after the body arrived).
 */
export class FakeAssetService {
  readonly uploads = new Map<string, { length: number; offset: number; sha256: string; chunks: Uint8Array[] }>();
  readonly assets = new Map<string, Uint8Array>();
  readonly requests: string[] = [];
  patchBytes = 0;
  cutAfterPatches: number | undefined;
  offline = false;
  private next = 1;

  readonly fetch: BinaryFetch = async (url, init) => {
    const { pathname } = new URL(url);
    this.requests.push(`${init.method} ${pathname}`);
    if (init.signal.aborted) throw init.signal.reason as Error;
    if (this.offline) throw new TypeError('fetch failed');
    const h = Object.fromEntries(Object.entries(init.headers).map(([k, v]) => [k.toLowerCase(), v]));
    const asset = /^\/v1\/assets\/([0-9a-f]{64})$/.exec(pathname);
    if (asset) {
      const bytes = this.assets.get(asset[1]!);
      if (!bytes) return new Response(null, { status: 404 });
      return new Response(init.method === 'HEAD' ? null : bytes.slice(), { status: 200, headers: { 'content-type': 'application/octet-stream', 'content-length': String(bytes.length) } });
    }
    if (init.method === 'POST' && pathname === '/v1/uploads') {
      const meta = Object.fromEntries(
        (h['upload-metadata'] ?? '')
          .split(',')
          .map((pair) => pair.split(' '))
          .map(([k, v]) => [k, Buffer.from(v ?? '', 'base64').toString()]),
      );
      const id = `u${this.next++}`;
      const length = Number(h['upload-length']);
      const sha256 = meta.sha256!;
      this.uploads.set(id, { length, offset: this.assets.has(sha256) ? length : 0, sha256, chunks: [] });
      return new Response(null, { status: 201, headers: { location: `/v1/uploads/${id}`, 'upload-offset': String(this.uploads.get(id)!.offset) } });
    }
    const upload = /^\/v1\/uploads\/(\w+)$/.exec(pathname);
    const state = upload ? this.uploads.get(upload[1]!) : undefined;
    if (!state) return new Response(null, { status: 404 });
    if (init.method === 'HEAD') return new Response(null, { status: 200, headers: { 'upload-offset': String(state.offset), 'upload-length': String(state.length) } });
    if (init.method === 'PATCH') {
      if (Number(h['upload-offset']) !== state.offset) return new Response(null, { status: 409 });
      const body = init.body ?? new Uint8Array();
      state.chunks.push(body.slice());
      state.offset += body.length;
      this.patchBytes += body.length;
      if (state.offset === state.length) {
        const whole = Buffer.concat(state.chunks);
        if (createHash('sha256').update(whole).digest('hex') !== state.sha256) return new Response(null, { status: 422 });
        this.assets.set(state.sha256, new Uint8Array(whole));
      }
      if (this.cutAfterPatches !== undefined && --this.cutAfterPatches <= 0) {
        this.cutAfterPatches = undefined;
        this.offline = true;
        throw new TypeError('connection reset');
      }
      return new Response(null, { status: 204, headers: { 'upload-offset': String(state.offset) } });
    }
    return new Response(null, { status: 405 });
  };
}
