// The metric inventory of infra/monitoring/README.md held to what the services really export: all five run
// (as processes, on a fresh NATS, database and bucket) and their /metrics are scraped. Every metric the
// inventory lists is exported by the services it names, with the labels it names; every tidemark metric
// exported is listed; and every metric the alerting rules and the Grafana dashboard read is exported.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FakeDevice, bucketEnv, eventually, push, startSlice, testBucket, type SliceStack } from '@tidemark/testing';
import { SCRAPE_METRICS, dashboard, dashboardExpressions, inventoryMetrics, metricNames, ruleGroups, sampleNames } from './monitoring';

const SERVICES = ['journal-service', 'merge-service', 'gateway', 'ops-api', 'asset-service'] as const;
type Service = (typeof SERVICES)[number];

interface Family {
  type: string;
  services: Set<Service>;
  labels: Set<string>;
  samples: { name: string; labels: Record<string, string>; value: number }[];
}

/** Parses the Prometheus text exposition: families by `# TYPE`, samples with their labels. */
function parseExposition(text: string, service: Service, into: Map<string, Family>): void {
  const sampleFamily = (sample: string): string | undefined => {
    for (const candidate of [sample, sample.replace(/_(bucket|sum|count)$/, '')]) if (into.has(candidate)) return candidate;
    return undefined;
  };
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) {
      const family = into.get(type[1]!) ?? { type: type[2]!, services: new Set(), labels: new Set(), samples: [] };
      family.services.add(service);
      into.set(type[1]!, family);
      continue;
    }
    if (!line || line.startsWith('#')) continue;
    const sample = /^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{(.*)\})? (\S+)/.exec(line);
    assert.ok(sample, `${service}: unparsable line ${line}`);
    const name = sampleFamily(sample[1]!);
    assert.ok(name, `${service}: sample ${sample[1]} has no # TYPE`);
    const labels = Object.fromEntries([...(sample[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1]!, m[2]!]));
    const family = into.get(name)!;
    for (const l of Object.keys(labels)) family.labels.add(l);
    family.samples.push({ name: sample[1]!, labels: { ...labels, service }, value: Number(sample[3]) });
  }
}

describe('infra/monitoring: the metric inventory against the running services', () => {
  let stack: SliceStack;
  const families = new Map<string, Family>();
  const scrape = async (service: Service): Promise<string> => {
    const response = await fetch(`${stack.url(service)}/metrics`);
    assert.equal(response.status, 200);
    return response.text();
  };

  before(async () => {
    stack = await startSlice(['journal-service', 'merge-service', 'gateway', 'ops-api']);
    await stack.start('asset-service', bucketEnv(await testBucket('monitoring')));
    // Two devices of one site: one pushes, so the site is active and the other, never heard from, falls behind.
    const busy = new FakeDevice('device-busy');
    const { headers } = await stack.device('monitoring', busy.deviceId, 'lab');
    await stack.device('monitoring', 'device-quiet', 'lab');
    const pushed = await push(stack.url('gateway'), [busy.upsert('annotation', 'a-1', { label: 'x' })], headers);
    assert.equal(pushed.status, 200, JSON.stringify(pushed.body));
    for (const service of SERVICES) parseExposition(await scrape(service), service, families);
  });
  after(async () => {
    await stack?.stop();
  });

  it('exports every metric the inventory lists, from the services it names, with no label it does not name', () => {
    const inventory = inventoryMetrics();
    assert.ok(inventory.size >= 30, `the inventory lists ${inventory.size} metrics`);
    for (const [name, { type, labels }] of inventory) {
      const family = families.get(name);
      assert.ok(family, `${name}: listed in the inventory, exported by no service`);
      assert.equal(family.type, type, `${name}: type`);
      const extra = [...family.labels].filter((l) => !labels.includes(l) && l !== 'service' && !(type === 'histogram' && l === 'le'));
      assert.deepEqual(extra, [], `${name}: labels not in the inventory`);
    }
  });

  it('lists every tidemark and HTTP metric the services export, each from every service the inventory names', () => {
    const inventory = inventoryMetrics();
    const ours = [...families.keys()].filter((n) => !/^(process|nodejs)_/.test(n));
    assert.deepEqual(ours.filter((n) => !inventory.has(n)).sort(), [], 'exported but not in infra/monitoring/README.md');
    for (const [name, { services }] of inventory) {
      const expected = services === 'all' ? [...SERVICES] : (services.split(',').map((s) => s.trim()) as Service[]);
      const missing = expected.filter((s) => !families.get(name)?.services.has(s));
      assert.deepEqual(missing, [], `${name}: not exported by ${missing.join(', ')}`);
    }
  });

  it('exports every metric the alerting rules and the dashboard read', () => {
    const exported = new Set<string>(SCRAPE_METRICS);
    for (const [name, family] of families) for (const sample of sampleNames(name, family.type)) exported.add(sample);
    for (const group of ruleGroups()) for (const rule of group.rules) if (rule.record) exported.add(rule.record);
    const read = [...ruleGroups().flatMap((g) => g.rules.map((r) => ({ where: r.alert ?? r.record!, expr: r.expr }))), ...dashboardExpressions(dashboard())];
    const missing = read.flatMap((e) =>
      metricNames(e.expr)
        .filter((n) => !exported.has(n))
        .map((n) => `${e.where}: ${n}`),
    );
    assert.deepEqual(missing, []);
  });

  it('reports readiness, the outbox tables and the devices of a site falling behind as they are', async () => {
    for (const service of SERVICES) {
      const ready = families.get('tidemark_ready')!.samples.find((s) => s.labels.service === service);
      assert.equal(ready?.value, 1, `${service}: tidemark_ready`);
    }
    const checks = families
      .get('tidemark_readiness_check_up')!
      .samples.filter((s) => s.labels.service === 'asset-service')
      .map((s) => `${s.labels.check}=${s.value}`);
    assert.deepEqual(checks.sort(), ['nats=1', 'postgres=1', 's3=1']);
    const ops = families
      .get('tidemark_outbox_pending_messages')!
      .samples.map((s) => s.labels.table)
      .sort();
    assert.deepEqual(ops, ['asset_outbox', 'outbox']);
    await eventually(
      async () => {
        const text = await scrape('ops-api');
        assert.match(text, /^tidemark_ops_observation_up\{[^}]*\} 1$/m);
        assert.match(text, /^tidemark_devices_falling_behind\{workspace="monitoring",site="lab"[^}]*\} 1$/m);
        assert.match(text, /^tidemark_site_behind_sequences\{workspace="monitoring",site="lab"[^}]*\} 0$/m);
      },
      { message: 'ops-api to report the quiet device of site lab falling behind, and the push applied' },
    );
  });
});
