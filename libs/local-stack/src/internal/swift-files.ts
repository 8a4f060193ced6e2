// Text of the files a single-node OpenStack Swift needs: swift.conf, the four server configs and a small
// Python launcher. Pure functions, so the layout can be unit-tested without starting anything.

/** Everything the configs need to know. */
export interface SwiftLayout {
  /** Folder with swift.conf, rings and server configs (every config's `swift_dir`). */
  swiftDir: string;
  /** Folder holding the one storage device, `d1`. */
  devicesDir: string;
  /** Address every server binds. */
  host: string;
  /** Account that runs the servers (Swift drops privileges to it). */
  user: string;
  ports: { proxy: number; account: number; container: number; object: number; memcached: number };
  /** Secret salt for object placement; must never change for a data directory. */
  hashPathSecret: string;
  /** S3 access key in tempauth form `account:user`. */
  accessKey: string;
  secretKey: string;
  region: string;
  /** Largest single object (Swift `max_file_size`); multipart objects may be larger. */
  maxObjectSize: number;
}

/** Swift backend server kinds. */
export type SwiftBackend = 'account' | 'container' | 'object';

/** The one device every ring holds; data lives in `<devicesDir>/d1`. */
export const SWIFT_DEVICE = 'd1';

/** Partition power of the rings. With a single device the value only sets the number of directories. */
export const SWIFT_PART_POWER = 10;

/**
 * Python launcher. The Debian `swift-*-server` scripts always read `/etc/swift/swift.conf` (hash secret,
 * constraints, storage policies); this launcher points Swift at our own swift.conf before anything else
 * is imported, so nothing under /etc/swift is used. `rings` builds all three rings in one process
 * (~0.5 s instead of ~3 s with swift-ring-builder).
 */
export const SWIFT_LAUNCHER = `# Written by @tidemark/local-stack on every start; edits are overwritten.
import os
import sys

swift_dir = sys.argv[1]
command = sys.argv[2]

from swift.common import utils
utils.SWIFT_CONF_FILE = os.path.join(swift_dir, 'swift.conf')

if command == 'rings':
    from swift.common.ring import RingBuilder
    part_power = int(sys.argv[3])
    host = sys.argv[4]
    device = sys.argv[5]
    for spec in sys.argv[6:]:
        name, port = spec.split('=')
        builder = RingBuilder(part_power, 1, 1)
        builder.add_dev({'id': 0, 'region': 1, 'zone': 1, 'ip': host, 'port': int(port),
                         'device': device, 'weight': 100.0, 'meta': ''})
        builder.rebalance()
        builder.save(os.path.join(swift_dir, name + '.builder'))
        builder.get_ring().save(os.path.join(swift_dir, name + '.ring.gz'))
elif command in ('proxy-server', 'account-server', 'container-server', 'object-server'):
    from swift.common.wsgi import run_wsgi
    options = {'verbose': True}
    if command == 'object-server':
        from swift.obj import server
        options['global_conf_callback'] = server.global_conf_callback
    sys.exit(run_wsgi(sys.argv[3], command, **options))
else:
    sys.exit('unknown command %r' % command)
`;

/** swift.conf: hash secret, the one storage policy and the object size limit. */
export function swiftConf(layout: SwiftLayout): string {
  return `# Written by @tidemark/local-stack on every start; edits are overwritten.
[swift-hash]
swift_hash_path_prefix = ${layout.hashPathSecret}
swift_hash_path_suffix = ${layout.hashPathSecret}

[storage-policy:0]
name = Policy-0
default = yes

[swift-constraints]
max_file_size = ${layout.maxObjectSize}
`;
}

function common(layout: SwiftLayout, port: number, logName: string, logLevel: string): string {
  return `# Written by @tidemark/local-stack on every start; edits are overwritten.
[DEFAULT]
bind_ip = ${layout.host}
bind_port = ${port}
bind_timeout = 2
workers = 0
user = ${layout.user}
swift_dir = ${layout.swiftDir}
devices = ${layout.devicesDir}
mount_check = false
disable_fallocate = true
log_name = ${logName}
log_level = ${logLevel}
`;
}

/** Config of an account, container or object server (single process, healthcheck in front). */
export function backendConf(kind: SwiftBackend, layout: SwiftLayout): string {
  return `${common(layout, layout.ports[kind], `${kind}-server`, 'WARNING')}
[pipeline:main]
pipeline = healthcheck ${kind}-server

[app:${kind}-server]
use = egg:swift#${kind}

[filter:healthcheck]
use = egg:swift#healthcheck
`;
}

/** Splits `account:user` as tempauth wants it. */
export function splitAccessKey(accessKey: string): { account: string; user: string } {
  const match = /^([A-Za-z0-9_-]+):([A-Za-z0-9_-]+)$/.exec(accessKey);
  if (!match?.[1] || !match[2]) throw new Error(`S3 access key must look like "account:user" (letters, digits, _ and -), got ${JSON.stringify(accessKey)}`);
  return { account: match[1], user: match[2] };
}

/**
 * Proxy config: the usual tempauth pipeline with s3api right before tempauth, memcache for tempauth's
 * tokens, and S3's real limit of 10 000 parts per multipart upload (SLO must allow as many segments).
 */
export function proxyConf(layout: SwiftLayout): string {
  const { account, user } = splitAccessKey(layout.accessKey);
  return `${common(layout, layout.ports.proxy, 'proxy-server', 'INFO')}
[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats bulk tempurl ratelimit s3api tempauth copy container-quotas account-quotas slo dlo versioned_writes proxy-logging proxy-server

[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true

[filter:s3api]
use = egg:swift#s3api
location = ${layout.region}
s3_acl = false
max_upload_part_num = 10000

[filter:tempauth]
use = egg:swift#tempauth
user_${account}_${user} = ${layout.secretKey} .admin

[filter:cache]
use = egg:swift#memcache
memcache_servers = ${layout.host}:${layout.ports.memcached}

[filter:slo]
use = egg:swift#slo
max_manifest_segments = 10000

[filter:catch_errors]
use = egg:swift#catch_errors

[filter:gatekeeper]
use = egg:swift#gatekeeper

[filter:healthcheck]
use = egg:swift#healthcheck

[filter:proxy-logging]
use = egg:swift#proxy_logging

[filter:listing_formats]
use = egg:swift#listing_formats

[filter:bulk]
use = egg:swift#bulk

[filter:tempurl]
use = egg:swift#tempurl

[filter:ratelimit]
use = egg:swift#ratelimit

[filter:copy]
use = egg:swift#copy

[filter:container-quotas]
use = egg:swift#container_quotas

[filter:account-quotas]
use = egg:swift#account_quotas

[filter:dlo]
use = egg:swift#dlo

[filter:versioned_writes]
use = egg:swift#versioned_writes
`;
}
