/**
 * `routeshift dashboard` in headless Chromium against the sandbox, and the Grafana dashboard's queries
 * against the sandbox's Prometheus (which scrapes the controller's /metrics as well as the mesh).
 * The controller is a child process as in the other e2e files; the dashboard is the CLI, as a user runs
 * it. Screenshots go to .routeshift/test-artifacts/dashboard/ (ignored). Needs `npm run build`.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { CustomObjectsApi } from '@kubernetes/client-node';
import axios from 'axios';
import { chromium, type Browser, type Page } from 'playwright-core';
import { freeLoopbackPort } from '../../src/core/net.js';
import { fromRoot } from '../../src/core/paths.js';
import type { Sandbox } from '../../src/sandbox/sandbox.js';
import { demoCanary, echoDeployment, NS, seedObjects, service } from '../../src/sandbox/seed.js';
import { startCli, type CliProcess } from '../support/cli-process.js';
import { canaryEvents, controllerKubeconfigVia, createAll, getCanary, newSandbox, startController, waitForCanary, type ControllerProcess } from '../support/harness.js';

const ARTIFACTS = fromRoot('.routeshift/test-artifacts/dashboard');
const CANARY_PATH = `#/canary/${NS}/backend`;

let sb: Sandbox;
let controller: ControllerProcess | undefined;
let dashboard: CliProcess | undefined;
let dashboardUrl = '';
let browser: Browser;
let page: Page;
const started = Date.now();

async function startDashboardCli(args: string[]): Promise<{ p: CliProcess; url: string }> {
  const p = startCli(['dashboard', '--port', '0', ...args]);
  const end = Date.now() + 30_000;
  while (Date.now() < end) {
    const m = /^dashboard (http:\/\/127\.0\.0\.1:\d+\/) /m.exec(p.stdout());
    if (m) return { p, url: m[1] as string };
    if (p.child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  await p.stop();
  throw new Error(`routeshift dashboard did not print its address; stdout: ${p.stdout()} stderr: ${p.stderr()}`);
}

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  sb = await newSandbox();
  await createAll(sb.kubeConfig, seedObjects());
  const metricsPort = await freeLoopbackPort();
  controller = startController(sb, ['--metrics-port', String(metricsPort)]);
  await sb.scrapeController(`127.0.0.1:${metricsPort}`);
  const d = await startDashboardCli(['--kubeconfig', sb.kubeconfigPath, '--prometheus', sb.prometheus.url]);
  dashboard = d.p;
  dashboardUrl = d.url;
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
  page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await dashboard?.stop();
  await controller?.stop();
  await sb?.stop();
});

describe('routeshift dashboard in a browser', () => {
  it("lists the seed's Canary with its phase and weights", async () => {
    // A generous latency bound: on a busy test machine p99 alone must not roll the healthy release back.
    await createAll(sb.kubeConfig, [demoCanary({ maxP99Ms: 5000 })]);
    await page.goto(dashboardUrl);
    const row = page.locator(`#canaries tr[data-key="${NS}/backend"]`);
    await row.waitFor({ timeout: 30_000 });
    await expect(row.locator('td').nth(1).textContent()).resolves.toBe('backend');
    // Updated live: the row reaches a rollout phase with weights, without a reload.
    await page.locator('#canaries td.weights', { hasText: /\d/ }).waitFor({ timeout: 30_000 });
    expect(await row.locator('td.weights').textContent()).toMatch(/^backend-v1 \d+ \/ backend-v2 \d+$/);
    await page.screenshot({ path: `${ARTIFACTS}/list.png` });
  }, 60_000);

  it("follows a rollout live: the weight chart reaches 100 and the timeline shows the promotion", async () => {
    await page.goto(`${dashboardUrl}${CANARY_PATH}`);
    await page.locator('#charts #weights').waitFor({ timeout: 30_000 });
    const done = await waitForCanary(sb, 'backend', (c) => c.status?.phase === 'Succeeded', 120_000);
    expect(done.status?.canaryWeight).toBe(100);
    await page.locator('#charts[data-max-weight="100"]').waitFor({ timeout: 30_000 });
    await page.locator('#phase', { hasText: 'Succeeded' }).waitFor({ timeout: 30_000 });
    await page.locator('#timeline li[data-reason="Promoted"]').waitFor({ timeout: 30_000 });
    const subtitle = await page.locator('#weights p').textContent();
    expect(subtitle).toMatch(/10 → 25 → 50 → 75 → 100/);
    // One chart per analysis metric besides the weights, drawn by uPlot.
    expect(await page.locator('#charts .rs-chart').count()).toBe(3);
    expect(await page.locator('#charts .uplot').count()).toBe(3);
    await page.screenshot({ path: `${ARTIFACTS}/canary-promoted.png`, fullPage: true });
  }, 180_000);

  it("shows a rolled-back canary's rollback decision with its reason on the timeline", async () => {
    await createAll(sb.kubeConfig, [echoDeployment('v3', { statusCode: 503 }), service('backend-v3', { app: 'backend', version: 'v3' })]);
    const custom = sb.kubeConfig.makeApiClient(CustomObjectsApi);
    const route = (await custom.getNamespacedCustomObject({ group: 'gateway.networking.k8s.io', version: 'v1', namespace: NS, plural: 'httproutes', name: 'backend-split' })) as {
      spec: { rules: Array<{ backendRefs: Array<Record<string, unknown>> }> };
    };
    (route.spec.rules[0] as { backendRefs: Array<Record<string, unknown>> }).backendRefs[0] = { group: '', kind: 'Service', name: 'backend-v3', port: 80, weight: 0 };
    await custom.replaceNamespacedCustomObject({ group: 'gateway.networking.k8s.io', version: 'v1', namespace: NS, plural: 'httproutes', name: 'backend-split', body: route });
    const c = await getCanary(sb, 'backend');
    c.spec.stable = { name: 'backend-v2', port: 80 };
    c.spec.canary = { name: 'backend-v3', port: 80 };
    await custom.replaceNamespacedCustomObject({ group: 'routeshift.io', version: 'v1alpha1', namespace: NS, plural: 'canaries', name: 'backend', body: c });
    await waitForCanary(sb, 'backend', (x) => x.status?.phase === 'Failed', 120_000);
    const started = (await canaryEvents(sb, 'backend')).filter((e) => e.reason === 'RollbackStarted').pop();
    expect(started?.message).toMatch(/request-success-rate/);

    const item = page.locator('#timeline li[data-reason="RollbackStarted"]').last();
    await item.waitFor({ timeout: 30_000 });
    expect(await item.locator('.msg').textContent()).toContain(started?.message);
    await page.locator('#timeline li[data-reason="RolledBack"]').waitFor({ timeout: 30_000 });
    expect(await page.locator('#phase').textContent()).toBe('Failed');
    // The failed checks are marked on the success-rate chart.
    expect(await page.locator('#timeline li.kind-failed-check').count()).toBeGreaterThan(0);
    await page.locator('#timeline li[data-reason="RollbackStarted"]').last().scrollIntoViewIfNeeded();
    await page.screenshot({ path: `${ARTIFACTS}/canary-rolled-back.png`, fullPage: true });
    // The top of that view, the picture docs/dashboard.md shows (copied there by hand).
    await page.screenshot({ path: `${ARTIFACTS}/docs-dashboard.png`, fullPage: true, clip: { x: 0, y: 0, width: 1100, height: 1000 } });
  }, 180_000);

  it('every Grafana panel query returns data after the rollouts, its variables filled in as a user would', async () => {
    const prom = sb.prometheus.url;
    const labelValues = async (label: string, match: string): Promise<string[]> =>
      ((await axios.get(`${prom}/api/v1/label/${label}/values`, { params: { 'match[]': match } })).data as { data: string[] }).data;
    const namespaces = await labelValues('namespace', 'routeshift_canary_weight');
    expect(namespaces).toContain(NS);
    const canaries = await labelValues('name', `routeshift_canary_weight{namespace="${NS}"}`);
    expect(canaries).toContain('backend');
    const services = await labelValues('destination_service_name', `istio_requests_total{destination_service_namespace="${NS}"}`);
    expect(services).toEqual(expect.arrayContaining(['backend-v1', 'backend-v2']));
    const range = `${Math.ceil((Date.now() - started) / 1000) + 60}s`;
    const vars: Record<string, string> = {
      namespace: NS,
      canary: '(backend)',
      service: `(${services.join('|')})`,
      reporter: 'destination',
      __rate_interval: '30s',
      __range: range,
    };
    const dash = JSON.parse(readFileSync(fromRoot('deploy/grafana/routeshift.json'), 'utf8')) as { panels: Panel[] };
    interface Panel {
      id: number;
      title: string;
      type: string;
      targets?: Array<{ expr: string }>;
      panels?: Panel[];
    }
    const panels = dash.panels.flatMap((p) => (p.type === 'row' ? (p.panels ?? []) : [p]));
    const empty: string[] = [];
    let checked = 0;
    for (const p of panels) {
      for (const t of p.targets ?? []) {
        const expr = t.expr.replace(/\$\{?(\w+)\}?/g, (_, v: string) => vars[v] ?? `<unknown ${v}>`);
        checked++;
        // Hook and notification panels are empty when no webhook or alert ran, as here: asked once.
        const optional = /webhook|notification/i.test(p.title);
        // A series that has just appeared needs a second scrape before rate() or increase() has a value.
        const end = optional ? 0 : Date.now() + 15_000;
        let result: unknown[];
        for (;;) {
          const res = await axios.get(`${prom}/api/v1/query`, { params: { query: expr } });
          expect(res.data.status).toBe('success');
          result = res.data.data.result as unknown[];
          if (result.length > 0 || Date.now() > end) break;
          await new Promise((r) => setTimeout(r, 1000));
        }
        if (result.length === 0 && !optional) empty.push(`${p.id} ${p.title}: ${expr}`);
      }
    }
    expect(checked).toBeGreaterThan(15);
    expect(empty).toEqual([]);
  }, 120_000);

  it('shows a banner, not a blank page, when the API server and Prometheus cannot be reached', async () => {
    const deadApi = await freeLoopbackPort();
    const deadProm = await freeLoopbackPort();
    const d = await startDashboardCli(['--kubeconfig', controllerKubeconfigVia(sb, deadApi), '--prometheus', `http://127.0.0.1:${deadProm}`]);
    try {
      const p2 = await browser.newPage({ viewport: { width: 1100, height: 500 } });
      await p2.goto(d.url);
      await p2.locator('.banner.api').waitFor({ timeout: 30_000 });
      expect(await p2.locator('.banner.api').textContent()).toMatch(new RegExp(`Kubernetes API server https?://127\\.0\\.0\\.1:${deadApi} is not answering`));
      await p2.locator('.banner.prometheus').waitFor({ timeout: 30_000 });
      expect(await p2.locator('.banner.prometheus').textContent()).toContain(`Prometheus http://127.0.0.1:${deadProm} is not answering`);
      await p2.screenshot({ path: `${ARTIFACTS}/unreachable.png` });
      await p2.close();
    } finally {
      await d.p.stop();
    }
  }, 60_000);

  it('is read-only: anything but GET is refused, and a non-loopback Host header too', async () => {
    const post = await axios.post(`${dashboardUrl}api/state`, {}, { validateStatus: () => true });
    expect(post.status).toBe(405);
    const rebound = await axios.get(dashboardUrl, { headers: { Host: 'attacker.example:80' }, validateStatus: () => true });
    expect(rebound.status).toBe(421);
    const state = await axios.get(`${dashboardUrl}api/state?canary=${NS}/backend`);
    expect(state.data.detail.row.phase).toBe('Failed');
  });
});
