// What the monitoring checks share: the rules file, the Grafana dashboard, the generated PrometheusRule, the
// metric inventory in infra/monitoring/README.md, and the metric names a PromQL expression reads.
import { parse } from 'yaml';
import { readRepoFile } from './deployment';

export const RULES_FILE = 'infra/monitoring/prometheus/tidemark.rules.yml';
export const DASHBOARD_FILE = 'infra/monitoring/grafana/tidemark.json';
export const PROMETHEUS_RULE_FILE = 'infra/monitoring/kubernetes/component/prometheusrule.yaml';
export const INVENTORY_FILE = 'infra/monitoring/README.md';

export interface Rule {
  record?: string;
  alert?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
export interface RuleGroup {
  name: string;
  interval?: string;
  rules: Rule[];
}

export const ruleGroups = (): RuleGroup[] => (parse(readRepoFile(RULES_FILE)) as { groups: RuleGroup[] }).groups;

export interface Target {
  expr: string;
  refId: string;
  datasource?: { type?: string; uid?: string };
}
export interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { h: number; w: number; x: number; y: number };
  datasource?: { type?: string; uid?: string };
  targets?: Target[];
  panels?: Panel[];
}
export interface Dashboard {
  uid: string;
  title: string;
  schemaVersion: number;
  panels: Panel[];
  templating: { list: { name: string; type: string; query?: unknown; definition?: string; datasource?: { uid?: string } }[] };
  __inputs?: { name: string; type: string; pluginId: string }[];
}

export const dashboard = (): Dashboard => JSON.parse(readRepoFile(DASHBOARD_FILE)) as Dashboard;

/** Every PromQL expression of the dashboard: panel targets and the variables' label_values queries. */
export function dashboardExpressions(d: Dashboard): { where: string; expr: string }[] {
  const panels = d.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
  const targets = panels.flatMap((p) => (p.targets ?? []).map((t) => ({ where: `panel ${p.id} "${p.title}" ${t.refId}`, expr: t.expr })));
  const variables = d.templating.list.flatMap((v) => {
    const m = v.type === 'query' ? /^label_values\((.*),\s*\w+\)$/.exec(v.definition ?? '') : null;
    return m ? [{ where: `variable ${v.name}`, expr: m[1]! }] : [];
  });
  return [...targets, ...variables];
}

const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'and', 'or', 'unless', 'bool', 'offset', 'inf', 'nan']);

/**
 * The metric names a PromQL expression reads: identifiers that are not functions, keywords, label lists
 * (`by (…)`, `on (…)`), label matchers, ranges, strings or Grafana variables; plus names matched by
 * `{__name__=~"a|b"}` (plain alternatives only).
 */
export function metricNames(expr: string): string[] {
  const names = new Set<string>();
  for (const m of expr.matchAll(/__name__\s*=~?\s*"([^"]*)"/g)) for (const n of m[1]!.split('|')) names.add(n);
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\$\{?\w+\}?/g, ' ');
  for (const m of stripped.matchAll(/(?<![\w.])([A-Za-z_:][A-Za-z0-9_:]*)(\s*\()?/g)) {
    if (m[2] || KEYWORDS.has(m[1]!.toLowerCase())) continue;
    names.add(m[1]!);
  }
  return [...names].sort();
}

/**
 * The metrics the inventory table of infra/monitoring/README.md lists (rows whose first cell is a metric
 * name in backticks): type, the services that export it (`all`, or names separated by commas) and labels.
 */
export function inventoryMetrics(): Map<string, { type: string; services: string; labels: string[] }> {
  const rows = new Map<string, { type: string; services: string; labels: string[] }>();
  for (const line of readRepoFile(INVENTORY_FILE).split('\n')) {
    const m = /^\|\s*`([a-z_:][a-z0-9_:]*)`\s*\|\s*(\w+)\s*\|([^|]*)\|([^|]*)\|/.exec(line);
    if (!m) continue;
    const labels = [...m[4]!.matchAll(/`(\w+)`/g)].map((l) => l[1]!);
    rows.set(m[1]!, { type: m[2]!, services: m[3]!.trim(), labels });
  }
  return rows;
}

/** A metric family's sample names: a histogram's `_bucket`, `_sum` and `_count`, a summary's `_sum` and `_count`. */
export function sampleNames(name: string, type: string): string[] {
  if (type === 'histogram') return [`${name}_bucket`, `${name}_sum`, `${name}_count`];
  if (type === 'summary') return [name, `${name}_sum`, `${name}_count`];
  return [name];
}

/** Metrics Prometheus itself adds to every scrape target. */
export const SCRAPE_METRICS = ['up', 'scrape_duration_seconds', 'scrape_samples_scraped'];
