import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { backendConf, proxyConf, splitAccessKey, swiftConf, type SwiftLayout } from './swift-files';

const layout: SwiftLayout = {
  swiftDir: '/data/s3/etc',
  devicesDir: '/data/s3/devices',
  host: '127.0.0.1',
  user: 'root',
  ports: { proxy: 19000, account: 30001, container: 30002, object: 30003, memcached: 30004 },
  hashPathSecret: 'abc123',
  accessKey: 'tidemark:admin',
  secretKey: 'secret-key-1',
  region: 'us-east-1',
  maxObjectSize: 5 * 1024 ** 3 + 2,
};

describe('swift config files', () => {
  it('puts s3api right before tempauth and slo after both', () => {
    const pipeline = /^pipeline = (.*)$/m.exec(proxyConf(layout))?.[1]?.split(' ') ?? [];
    assert.equal(pipeline.indexOf('tempauth') - pipeline.indexOf('s3api'), 1);
    assert.ok(pipeline.indexOf('slo') > pipeline.indexOf('tempauth'));
    assert.ok(pipeline.indexOf('cache') < pipeline.indexOf('tempauth'), 'tempauth needs memcache before it');
    assert.equal(pipeline.at(-1), 'proxy-server');
  });

  it('declares the tempauth user, memcached, the region and S3 part limits', () => {
    const text = proxyConf(layout);
    assert.match(text, /^user_tidemark_admin = secret-key-1 \.admin$/m);
    assert.match(text, /^memcache_servers = 127\.0\.0\.1:30004$/m);
    assert.match(text, /^location = us-east-1$/m);
    assert.match(text, /^max_upload_part_num = 10000$/m);
    assert.match(text, /^max_manifest_segments = 10000$/m);
    assert.match(text, /^bind_port = 19000$/m);
  });

  it('points every server at the local swift_dir and devices, never /etc/swift', () => {
    for (const text of [proxyConf(layout), backendConf('account', layout), backendConf('container', layout), backendConf('object', layout)]) {
      assert.match(text, /^swift_dir = \/data\/s3\/etc$/m);
      assert.doesNotMatch(text, /\/etc\/swift/);
    }
    assert.match(backendConf('object', layout), /^mount_check = false$/m);
    assert.match(backendConf('object', layout), /^bind_port = 30003$/m);
    assert.match(backendConf('object', layout), /^use = egg:swift#object$/m);
  });

  it('writes the placement secret and object size limit into swift.conf', () => {
    const text = swiftConf(layout);
    assert.match(text, /^swift_hash_path_suffix = abc123$/m);
    assert.match(text, /^max_file_size = 5368709122$/m);
  });

  it('accepts only account:user access keys', () => {
    assert.deepEqual(splitAccessKey('tidemark:admin'), { account: 'tidemark', user: 'admin' });
    assert.throws(() => splitAccessKey('admin'), /account:user/);
    assert.throws(() => splitAccessKey('a b:c'), /account:user/);
  });
});
