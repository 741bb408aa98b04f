import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { parse } from 'yaml';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const RULES = 'config/prometheus/hotcert-alerts.yaml';
const RULE_TESTS = 'config/prometheus/hotcert-alerts.test.yaml';
const DASHBOARD = 'config/grafana/hotcert-dashboard.json';

const read = (path: string): Promise<string> => readFile(ROOT + path, 'utf8');

// promtool comes with Debian's prometheus package, which test/run installs.
function promtool(...args: string[]): { status: number | null; output: string } {
  const run = spawnSync('promtool', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
  if (run.error) return { status: null, output: `promtool: ${run.error.message} (apt-get install prometheus)` };
  return { status: run.status, output: run.stdout + run.stderr };
}

const HISTOGRAM_SERIES = ['_bucket', '_sum', '_count'];

/** hotcert's own names as the source declares them, so that a renamed metric fails here before it fails an alert. */
async function hotcertMetricNames(): Promise<Set<string>> {
  const source = await read('src/observe/metrics/daemon-metrics.ts');
  const names = [...source.matchAll(/name: '([a-zA-Z_:][a-zA-Z0-9_:]*)'/g)].map((match) => match[1]!);
  const histograms = [...source.matchAll(/new Histogram\(\{\s*name: '([^']+)'/g)].map((match) => match[1]!);
  return new Set([...names, ...histograms.flatMap((name) => HISTOGRAM_SERIES.map((suffix) => name + suffix))]);
}

/** prom-client's process_* and nodejs_* names on this platform: a misspelt one is as dead as a misspelt hotcert_*. */
async function defaultMetricNames(): Promise<Set<string>> {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const metrics = await registry.getMetricsAsJSON();
  registry.clear();
  return new Set(metrics.flatMap(({ name, type }) => (String(type) === 'histogram' ? HISTOGRAM_SERIES.map((suffix) => name + suffix) : [name])));
}

const KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'offset', 'inf', 'nan']);

/** The metric names a PromQL expression selects (enough PromQL for these files, not a parser). */
function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\$\{?\w+\}?/g, ' ');
  return [...bare.matchAll(/(?<![\w.:])([a-zA-Z_:][a-zA-Z0-9_:]*)(?![\w:]|\s*\()/g)].map((match) => match[1]!).filter((name) => !KEYWORDS.has(name));
}

interface Rule {
  alert?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface Panel {
  id: number;
  title: string;
  gridPos?: { x: number; y: number; w: number; h: number };
  datasource?: { uid?: string };
  targets?: { expr?: string; datasource?: { uid?: string } }[];
  panels?: Panel[];
}

async function rules(): Promise<Rule[]> {
  const file = parse(await read(RULES)) as { groups: { rules: Rule[] }[] };
  return file.groups.flatMap((group) => group.rules);
}

async function dashboard(): Promise<{ panels: Panel[]; templating: { list: { query?: unknown; definition?: string }[] } }> {
  return JSON.parse(await read(DASHBOARD));
}

function flatPanels(panels: Panel[]): Panel[] {
  return panels.flatMap((panel) => [panel, ...flatPanels(panel.panels ?? [])]);
}

async function usedNames(): Promise<{ where: string; name: string }[]> {
  const used = (await rules()).flatMap((rule) => metricNames(rule.expr).map((name) => ({ where: `rule ${rule.alert}`, name })));
  const board = await dashboard();
  for (const panel of flatPanels(board.panels)) {
    for (const target of panel.targets ?? []) used.push(...metricNames(target.expr ?? '').map((name) => ({ where: `panel ${panel.title}`, name })));
  }
  for (const variable of board.templating.list) {
    for (const match of (variable.definition ?? '').matchAll(/label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*,/g)) {
      used.push({ where: 'dashboard variable', name: match[1]! });
    }
  }
  return used;
}

describe('monitoring examples', () => {
  it(`promtool accepts ${RULES}`, () => {
    const run = promtool('check', 'rules', RULES);
    expect(run).toMatchObject({ status: 0 });
    expect(run.output).toContain('SUCCESS');
  });

  it('the alerts fire as their unit tests say (promtool test rules)', () => {
    expect(promtool('test', 'rules', RULE_TESTS)).toMatchObject({ status: 0, output: expect.stringContaining('SUCCESS') });
  });

  it('every alert waits, has a severity and says what fired', async () => {
    const alerts = (await rules()).filter((rule) => rule.alert);
    expect(alerts.length).toBeGreaterThan(5);
    for (const rule of alerts) {
      expect({ alert: rule.alert, for: rule.for }).toEqual({ alert: rule.alert, for: expect.stringMatching(/^\d+[smhd]$/) });
      expect({ alert: rule.alert, severity: rule.labels?.severity }).toEqual({ alert: rule.alert, severity: expect.stringMatching(/^(warning|critical)$/) });
      expect(Object.keys(rule.annotations ?? {}).sort()).toEqual(['description', 'summary']);
    }
  });

  it('the rules and the dashboard use only metrics hotcert exposes', async () => {
    const hotcert = await hotcertMetricNames();
    // Guards the source scan itself: an empty or partial set would let anything through as unknown.
    expect([...hotcert]).toEqual(expect.arrayContaining(['hotcert_in_sync', 'hotcert_queue_depth', 'hotcert_build_info', 'hotcert_deploy_duration_seconds_bucket']));
    const known = new Set([...hotcert, ...(await defaultMetricNames()), 'up']);
    const used = await usedNames();
    expect(used.filter(({ name }) => !known.has(name))).toEqual([]);
    expect(used.map(({ name }) => name)).toEqual(expect.arrayContaining(['hotcert_certificate_not_after_seconds', 'process_resident_memory_bytes']));
  });

  it('the name check sees a misspelt metric', () => {
    expect(metricNames('sum by (target) (rate(hotcert_cheks_total{outcome="failed"}[15m])) > 0 and on (job) up')).toEqual(['hotcert_cheks_total', 'up']);
    expect(metricNames('histogram_quantile(0.95, sum by (le) (rate(x_bucket{job=~"$job"}[$__rate_interval]))) * 60')).toEqual(['x_bucket']);
  });

  it('the dashboard has unique panel ids, a place on the grid and the datasource variable', async () => {
    const panels = flatPanels((await dashboard()).panels);
    expect(panels.length).toBeGreaterThan(5);
    expect(new Set(panels.map((panel) => panel.id)).size).toBe(panels.length);
    for (const panel of panels) {
      expect({ title: panel.title, gridPos: panel.gridPos }).toEqual({
        title: panel.title,
        gridPos: { x: expect.any(Number), y: expect.any(Number), w: expect.any(Number), h: expect.any(Number) },
      });
      for (const target of panel.targets ?? []) expect(target.datasource?.uid ?? panel.datasource?.uid).toBe('${datasource}');
    }
  });
});
