// infra/monitoring, checked with the real tools and against the metric inventory: promtool checks and
// unit-tests the rules, every metric the rules and the dashboard read is one the inventory lists (the
// end-to-end check scrapes the services to hold the inventory to what they export), the dashboard has the
// shape Grafana imports, and the Kubernetes PrometheusRule holds exactly the rules file's groups.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { parse, parseAllDocuments } from 'yaml';
import { readRepoFile, repoRoot } from './deployment';
import {
  DASHBOARD_FILE,
  INVENTORY_FILE,
  PROMETHEUS_RULE_FILE,
  RULES_FILE,
  SCRAPE_METRICS,
  dashboard,
  dashboardExpressions,
  inventoryMetrics,
  metricNames,
  ruleGroups,
  sampleNames,
  type Panel,
} from './monitoring';

const SERVICES = ['gateway', 'journal-service', 'merge-service', 'asset-service', 'ops-api'];

/** The cases an operator is paged or warned for, each by at least one alert. */
const REQUIRED_ALERTS = [
  'TidemarkProjectionLagging', // projection lag
  'TidemarkConsumerOldestPendingOld', // oldest-pending age
  'TidemarkMessagesParked', // parked messages
  'TidemarkConflictsGrowing', // open conflicts growing
  'TidemarkSiteFallingBehind', // a device or site falling behind
  'TidemarkUploadsStalled', // uploads stalled
  'TidemarkServiceNotReady', // a service not ready
  'TidemarkOutboxBehind', // the outbox behind
];

function promtool(...args: string[]): string {
  const result = spawnSync('promtool', args, { cwd: repoRoot, encoding: 'utf8' });
  assert.ok(!result.error, `promtool could not run (Debian's prometheus package installs it): ${result.error?.message}`);
  assert.equal(result.status, 0, `promtool ${args.join(' ')} failed:\n${result.stdout}${result.stderr}`);
  return result.stdout + result.stderr;
}

/** Sample names the inventory's metrics produce, and the recording rules' names. */
function knownNames(): Set<string> {
  const names = new Set<string>(SCRAPE_METRICS);
  for (const [name, { type }] of inventoryMetrics()) for (const sample of sampleNames(name, type)) names.add(sample);
  for (const group of ruleGroups()) for (const rule of group.rules) if (rule.record) names.add(rule.record);
  return names;
}

/** GitHub's anchor for a markdown heading. */
const anchor = (heading: string): string =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9 -]/g, '')
    .replace(/ /g, '-');

describe('infra/monitoring: Prometheus rules', () => {
  it('pass promtool check rules', () => {
    assert.match(promtool('check', 'rules', RULES_FILE), /SUCCESS: \d+ rules found/);
  });

  it('pass their promtool unit tests (alerts fire after their for:, with their labels and annotations)', () => {
    assert.match(promtool('test', 'rules', 'infra/monitoring/prometheus/tidemark.rules.test.yml'), /SUCCESS/);
  });

  it('alert on every required case, each alert with for:, a severity, a summary, a description and a runbook section that exists', () => {
    const alerts = ruleGroups().flatMap((g) => g.rules.filter((r) => r.alert));
    const names = alerts.map((a) => a.alert!);
    assert.deepEqual(
      REQUIRED_ALERTS.filter((a) => !names.includes(a)),
      [],
      'required alerts missing',
    );
    assert.equal(new Set(names).size, names.length, 'alert names are unique');
    const sections = new Set(
      readRepoFile(INVENTORY_FILE)
        .split('\n')
        .filter((l) => /^#{2,4} /.test(l))
        .map((l) => anchor(l.replace(/^#+ /, ''))),
    );
    for (const a of alerts) {
      assert.match(a.for ?? '', /^\d+[smh]$/, `${a.alert}: for:`);
      assert.ok(['info', 'warning', 'critical'].includes(a.labels?.severity ?? ''), `${a.alert}: severity`);
      for (const key of ['summary', 'description', 'runbook']) assert.ok(a.annotations?.[key]?.trim(), `${a.alert}: ${key} annotation`);
      const section = /^infra\/monitoring\/README\.md#([a-z0-9-]+)/.exec(a.annotations!.runbook!)?.[1];
      assert.ok(section && sections.has(section), `${a.alert}: runbook ${a.annotations!.runbook} names no section of ${INVENTORY_FILE}`);
    }
  });

  it('read only metrics the inventory lists (or their own recording rules)', () => {
    const known = knownNames();
    const unknown = ruleGroups().flatMap((g) =>
      g.rules.flatMap((r) =>
        metricNames(r.expr)
          .filter((n) => !known.has(n))
          .map((n) => `${r.alert ?? r.record}: ${n}`),
      ),
    );
    assert.deepEqual(unknown, []);
  });
});

describe('infra/monitoring: Grafana dashboard', () => {
  const d = dashboard();
  const all = d.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
  const visual = all.filter((p) => p.type !== 'row');

  it('is a dashboard Grafana 9+ imports: schema ≥ 36, a uid, the data source as an input and a variable, a workspace variable', () => {
    assert.ok(d.schemaVersion >= 36, `schemaVersion ${d.schemaVersion}`);
    assert.match(d.uid, /^[a-z0-9-]{1,40}$/);
    assert.ok(
      d.__inputs?.some((i) => i.name === 'DS_PROMETHEUS' && i.type === 'datasource' && i.pluginId === 'prometheus'),
      '__inputs has DS_PROMETHEUS',
    );
    const vars = new Map(d.templating.list.map((v) => [v.name, v]));
    assert.equal(vars.get('DS_PROMETHEUS')?.type, 'datasource');
    assert.equal(vars.get('DS_PROMETHEUS')?.query, 'prometheus');
    assert.equal(vars.get('workspace')?.type, 'query');
    assert.equal(vars.get('workspace')?.datasource?.uid, '${DS_PROMETHEUS}');
  });

  it('has unique panel ids and panels laid on the 24-column grid without overlapping', () => {
    const ids = all.map((p) => p.id);
    assert.equal(new Set(ids).size, ids.length, 'panel ids are unique');
    for (const p of all) {
      const g = p.gridPos;
      assert.ok(g && [g.x, g.y, g.w, g.h].every((n) => Number.isInteger(n) && n >= 0), `panel ${p.id}: gridPos`);
      assert.ok(g.w >= 1 && g.h >= 1 && g.x + g.w <= 24, `panel ${p.id}: within 24 columns`);
    }
    const overlaps = (a: Panel, b: Panel) =>
      a.gridPos.x < b.gridPos.x + b.gridPos.w && b.gridPos.x < a.gridPos.x + a.gridPos.w && a.gridPos.y < b.gridPos.y + b.gridPos.h && b.gridPos.y < a.gridPos.y + a.gridPos.h;
    for (const [i, a] of all.entries()) for (const b of all.slice(i + 1)) assert.ok(!overlaps(a, b), `panels ${a.id} and ${b.id} overlap`);
  });

  it('queries the templated Prometheus data source from every panel and target, with unique refIds', () => {
    for (const p of visual) {
      assert.deepEqual(p.datasource, { type: 'prometheus', uid: '${DS_PROMETHEUS}' }, `panel ${p.id}: datasource`);
      assert.ok(p.title.trim(), `panel ${p.id}: title`);
      assert.ok(p.targets && p.targets.length > 0, `panel ${p.id} "${p.title}": targets`);
      const refs = p.targets.map((t) => t.refId);
      assert.equal(new Set(refs).size, refs.length, `panel ${p.id}: refIds unique`);
      for (const t of p.targets) {
        assert.ok(t.expr.trim(), `panel ${p.id} ${t.refId}: expr`);
        assert.deepEqual(t.datasource, p.datasource, `panel ${p.id} ${t.refId}: datasource`);
      }
    }
  });

  it('covers lag, throughput, parked, conflicts, devices and sites, uploads, readiness, outbox and latency', () => {
    const read = new Set(visual.flatMap((p) => (p.targets ?? []).flatMap((t) => metricNames(t.expr))));
    for (const metric of [
      'tidemark_projection_lag_seconds',
      'tidemark_consumer_oldest_pending_seconds',
      'tidemark_push_events_total',
      'tidemark_projected_events_total',
      'tidemark_parked_messages',
      'tidemark_conflicts_open',
      'tidemark_devices_falling_behind',
      'tidemark_uploads_stalled',
      'tidemark_ready',
      'tidemark_outbox_pending_messages',
      'tidemark_push_journal_seconds_bucket',
      'tidemark_projection_batch_seconds_bucket',
      'http_request_duration_seconds_bucket',
    ])
      assert.ok(read.has(metric), `no panel reads ${metric}`);
    const workspaceFiltered = visual.flatMap((p) => p.targets ?? []).filter((t) => t.expr.includes('workspace=~"$workspace"'));
    assert.ok(workspaceFiltered.length >= 3, 'panels with a workspace label filter by $workspace');
  });

  it('reads only metrics the inventory lists (or recording rules)', () => {
    const known = knownNames();
    const unknown = dashboardExpressions(d).flatMap((e) =>
      metricNames(e.expr)
        .filter((n) => !known.has(n))
        .map((n) => `${e.where}: ${n}`),
    );
    assert.deepEqual(unknown, [], `${DASHBOARD_FILE} reads metrics not in ${INVENTORY_FILE}`);
  });
});

describe('infra/monitoring: Kubernetes (Prometheus operator)', () => {
  it('has a PrometheusRule with exactly the rules file’s groups, as tools/prometheus-rule.mjs writes it', () => {
    const rule = parse(readRepoFile(PROMETHEUS_RULE_FILE)) as { apiVersion: string; kind: string; spec: { groups: unknown } };
    assert.equal(rule.apiVersion, 'monitoring.coreos.com/v1');
    assert.equal(rule.kind, 'PrometheusRule');
    assert.deepEqual(rule.spec.groups, ruleGroups());
    execFileSync(process.execPath, ['tools/prometheus-rule.mjs', '--check'], { cwd: repoRoot, stdio: 'pipe' });
  });

  it('has a ServiceMonitor per service that selects its Service and scrapes its named port; the component lists both files; the overlay adds it to infra/k8s', () => {
    const component = parse(readRepoFile('infra/monitoring/kubernetes/component/kustomization.yaml')) as { kind: string; resources: string[] };
    assert.equal(component.kind, 'Component');
    assert.deepEqual([...component.resources].sort(), ['prometheusrule.yaml', 'servicemonitors.yaml']);
    const overlay = parse(readRepoFile('infra/monitoring/kubernetes/kustomization.yaml')) as { resources: string[]; components: string[]; namespace: string };
    assert.deepEqual(overlay.resources, ['../../k8s']);
    assert.deepEqual(overlay.components, ['component']);
    assert.equal(overlay.namespace, (parse(readRepoFile('infra/k8s/kustomization.yaml')) as { namespace: string }).namespace);

    type Obj = { kind: string; metadata: { name: string; labels?: Record<string, string> }; spec: any };
    const monitors = parseAllDocuments(readRepoFile('infra/monitoring/kubernetes/component/servicemonitors.yaml')).map((doc) => doc.toJS() as Obj);
    assert.deepEqual(monitors.map((m) => m.metadata.name).sort(), [...SERVICES].sort());
    for (const m of monitors) {
      assert.equal(m.kind, 'ServiceMonitor');
      const service = parseAllDocuments(readRepoFile(`infra/k8s/${m.metadata.name}.yaml`))
        .map((doc) => doc.toJS() as Obj)
        .find((o) => o.kind === 'Service')!;
      assert.ok(service, `infra/k8s/${m.metadata.name}.yaml has a Service`);
      const wanted = m.spec.selector.matchLabels as Record<string, string>;
      for (const [k, v] of Object.entries(wanted)) assert.equal(service.metadata.labels?.[k], v, `${m.metadata.name}: the Service has label ${k}=${v}`);
      for (const e of m.spec.endpoints as { port: string; path: string }[]) {
        assert.ok(
          (service.spec.ports as { name: string }[]).some((p) => p.name === e.port),
          `${m.metadata.name}: the Service has a port named ${e.port}`,
        );
        assert.equal(e.path, '/metrics');
      }
    }
  });
});

describe('metricNames (PromQL)', () => {
  it('finds metric names, not functions, keywords, labels, ranges or variables', () => {
    assert.deepEqual(
      metricNames(
        'histogram_quantile(0.95, sum by (le, service) (rate(http_request_duration_seconds_bucket{status=~"5..", route="/x"}[$__rate_interval]))) > 0 and on (table) foo:bar unless ignoring (a) up offset 5m',
      ),
      ['foo:bar', 'http_request_duration_seconds_bucket', 'up'],
    );
    assert.deepEqual(metricNames('{__name__=~"a_total|b"}'), ['a_total', 'b']);
    assert.deepEqual(metricNames('count(x == 0) or vector(0)'), ['x']);
  });
});
