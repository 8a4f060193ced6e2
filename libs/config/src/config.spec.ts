import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Type } from '@sinclair/typebox';
import { ConfigError, CorsConfig, loadConfig, NatsConfig, httpPort } from './index';

const spec = {
  service: 'demo',
  schema: Type.Object({ ...NatsConfig, HTTP_PORT: httpPort(3000), FEATURE: Type.Optional(Type.Boolean()), FEATURE_URL: Type.Optional(Type.String()) }),
  rules: (c: { FEATURE?: boolean; FEATURE_URL?: string }) => (c.FEATURE && !c.FEATURE_URL ? [{ variable: 'FEATURE_URL', detail: 'is required when FEATURE is true' }] : []),
};

describe('loadConfig', () => {
  it('coerces types and fills defaults', () => {
    const config = loadConfig(spec, { NATS_URL: 'nats://127.0.0.1:4222', HTTP_PORT: '8080' });
    assert.equal(config.HTTP_PORT, 8080);
    assert.equal(config.JOURNAL_PARTITIONS, 8);
  });
  it('names a missing variable', () => {
    assert.throws(
      () => loadConfig(spec, {}),
      (error: unknown) => error instanceof ConfigError && /NATS_URL: is required/.test(error.message),
    );
  });
  it('names a malformed variable with what it got', () => {
    assert.throws(
      () => loadConfig(spec, { NATS_URL: 'nats://x', HTTP_PORT: 'eighty' }),
      (error: unknown) => error instanceof ConfigError && error.problems[0]!.variable === 'HTTP_PORT' && /"eighty"/.test(error.message),
    );
  });
  it('applies rules across variables', () => {
    assert.throws(() => loadConfig(spec, { NATS_URL: 'nats://x', FEATURE: 'true' }), /FEATURE_URL: is required when FEATURE is true/);
  });
  it('CORS_ORIGINS: none by default; origins as browsers send them (any scheme, spaces after commas), or *; a path, a trailing slash or "null" named', () => {
    const cors = { service: 'demo', schema: Type.Object({ ...CorsConfig }) };
    assert.equal(loadConfig(cors, {}).CORS_ORIGINS, '');
    for (const ok of ['*', 'https://app.example.com', 'http://127.0.0.1:3005,http://localhost:5173', 'https://a.example, app://renderer'])
      assert.equal(loadConfig(cors, { CORS_ORIGINS: ok }).CORS_ORIGINS, ok);
    for (const bad of ['http://localhost:5173/', 'https://app.example.com/path', 'null', 'localhost:5173', '*,https://a.example']) {
      assert.throws(
        () => loadConfig(cors, { CORS_ORIGINS: bad }),
        (error: unknown) => error instanceof ConfigError && error.problems[0]!.variable === 'CORS_ORIGINS',
        bad,
      );
    }
  });
});
