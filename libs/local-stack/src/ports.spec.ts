import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { findFreePort, isPortFree, preferPort } from './index';

describe('ports', () => {
  it('finds a port that can be bound', async () => {
    const port = await findFreePort();
    assert.ok(port > 0 && port < 65536);
    assert.equal(await isPortFree(port), true);
  });

  it('prefers the given port when free and falls back when it is taken', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    const taken = typeof address === 'object' && address ? address.port : 0;
    try {
      assert.equal(await isPortFree(taken), false);
      const chosen = await preferPort(taken);
      assert.notEqual(chosen, taken);
      const free = await findFreePort();
      assert.equal(await preferPort(free), free);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
