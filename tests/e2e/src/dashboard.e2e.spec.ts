// The operators' web dashboard in a real headless Chromium against running services with real data: two
// sites' devices pushing, a conflict, a parked event, an upload in progress, a record waiting for its
// asset, a replay. Every page is loaded and checked for that data; a parked event is re-driven, a conflict
// resolved and a replay swapped through the page, and the outcome checked through the API. With
// merge-service killed under a steady ingest, the overview shows lag and ages rising without a reload,
// and lag 0 once it restarted. Conflicts and parked entries are paged, filtered and acted on in bulk (checked on
// the server and in the audit page); every page is laid out at 1366×768 and at 800 px without anything wider
// than the page or a navigation link hidden. A screenshot of each page (at both widths: <page>-1366.png,
// <page>-800.png) is kept in test-artifacts/dashboard/.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { DeviceEvent } from '@tidemark/contracts';
import { FakeDevice, PARTITIONED_TASK_V1, count, eventually, push, startSlice, steadyIngest, bucketEnv, testBucket, type SliceStack, type TestDevice } from '@tidemark/testing';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];
const T0 = Date.UTC(2026, 10, 20);

/** The repository root (where nx.json is), found from this file in src or dist. */
function repoRoot(from: string): string {
  for (let dir = from; dirname(dir) !== dir; dir = dirname(dir)) if (existsSync(join(dir, 'nx.json'))) return dir;
  throw new Error(`no nx.json above ${from}`);
}
const ARTIFACTS = join(repoRoot(__dirname), 'test-artifacts', 'dashboard');

/** Chromium or a failure that says why: this test never skips for want of a browser. */
async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`the dashboard test needs Chromium at ${CHROMIUM}, which is missing: install Debian's chromium (apt-get install -y chromium; .ci/run does)`);
  try {
    return await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 60_000 });
  } catch (error) {
    throw new Error(`Chromium at ${CHROMIUM} could not start: ${(error as Error).message}`);
  }
}

/** An age as the page shows it ("4.5 s", "12 s", "3 m 10 s", "2 h 5 m", "3 d 4 h") in seconds; NaN for anything else. */
function secondsShown(text: string): number {
  const units: Record<string, number> = { d: 86_400, h: 3600, m: 60, s: 1 };
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?) ([dhms])\b/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join(' ') !== text.trim()) return NaN;
  return parts.reduce((sum, p) => sum + Number(p[1]) * units[p[2]!]!, 0);
}

describe('operator dashboard in headless Chromium', () => {
  let stack: SliceStack;
  let ops: string;
  let browser: Browser;
  let page: Page;
  const screenshots: string[] = [];
  const outside: string[] = [];
  const pageErrors: string[] = [];
  const consoleErrors: string[] = [];

  const tablet = new FakeDevice('dock-tablet', T0, 1000);
  // The laptop writes later (by HLC): its prompt titles win under last-writer-wins.
  const laptop = new FakeDevice('dock-laptop', T0 + 5000, 1000);
  const cam = new FakeDevice('field-cam', T0, 1000);
  const creds = new Map<string, TestDevice>();
  const neverUploaded = createHash('sha256').update('bytes nobody uploaded').digest('hex');
  let photo: DeviceEvent;
  let conflictId = '';

  const api = async (path: string, init: { method?: string; body?: unknown } = {}) => {
    const response = await fetch(`${ops}${path}`, {
      method: init.method ?? 'GET',
      headers: { ...stack.operatorHeaders, ...(init.body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });
    return { status: response.status, body: (await response.json()) as any };
  };
  const send = async (device: FakeDevice, events: DeviceEvent[]) => {
    const result = await push(stack.url('gateway'), events, creds.get(device.deviceId)!.headers);
    assert.equal(result.status, 200, JSON.stringify(result.body));
  };
  const shoot = async (name: string) => {
    assert.doesNotMatch(await text('body'), /\[object |undefined|NaN/, `${name}: every value rendered as text`);
    const path = join(ARTIFACTS, `${name}.png`);
    await page.screenshot({ path, fullPage: true });
    screenshots.push(path);
  };
  /** Opens a section from the top navigation, as an operator would. */
  const openSection = async (name: string) => {
    await page.getByRole('navigation').getByRole('link', { name, exact: true }).click();
    await page.locator('#updated[data-state="live"]').waitFor({ timeout: 15_000 });
  };
  const text = async (selector: string) => (await page.locator(selector).first().textContent({ timeout: 2000 })) ?? '';
  /** Polls the page until `selector`'s text passes `check` (the page refreshes itself every 2 s). */
  const pageShows = async (selector: string, check: RegExp | ((text: string) => boolean), message: string, timeoutMs = 20_000) => {
    let last = '(nothing yet)';
    try {
      return await eventually(
        async () => {
          last = await text(selector);
          assert.ok(typeof check === 'function' ? check(last) : check.test(last));
          return last;
        },
        { timeoutMs, intervalMs: 200 },
      );
    } catch (error) {
      const shown = await page
        .locator('#page-error')
        .textContent()
        .catch(() => null);
      throw new Error(`waited ${timeoutMs} ms for ${message} (${selector}); the page shows: ${last.slice(0, 600)}${shown ? `; its error box: ${shown}` : ''}`, { cause: error });
    }
  };

  before(async () => {
    rmSync(ARTIFACTS, { recursive: true, force: true });
    mkdirSync(ARTIFACTS, { recursive: true });
    browser = await launchChromium();

    stack = await startSlice(['journal-service', 'merge-service', 'gateway']);
    const bucket = await testBucket('dashboard');
    await stack.start('asset-service', bucketEnv(bucket));
    const services = (['journal-service', 'merge-service', 'gateway', 'asset-service'] as const).map((n) => `${n}=${stack.url(n)}`).join(',');
    await stack.start('ops-api', { SERVICE_URLS: services, RATE_SAMPLE_INTERVAL_MS: '300', RATE_WINDOW_MS: '20000', STALE_AFTER_SECONDS: '2' });
    ops = stack.url('ops-api');

    for (const [device, site] of [
      [tablet, 'dock'],
      [laptop, 'dock'],
      [cam, 'field'],
    ] as const)
      creds.set(device.deviceId, await stack.device('acme', device.deviceId, site));

    // A conflict: both dock devices label img-7 from version 0 after a first write.
    await send(tablet, [tablet.upsert('annotation', 'img-7', { confidence: 0.5 })]);
    await send(tablet, [tablet.upsert('annotation', 'img-7', { label: 'cat' }, 0)]);
    const theirs = laptop.upsert('annotation', 'img-7', { label: 'dog' }, 0);
    await send(laptop, [theirs]);
    conflictId = `${theirs.eventId}:label`;
    // Prompts whose title the later writer wins (lww); a policy revision makes titles only grow.
    await send(tablet, [tablet.upsert('prompt', 'pr-1', { title: 'b-1' }), tablet.upsert('prompt', 'pr-2', { title: 'a-2' })]);
    await send(laptop, [laptop.upsert('prompt', 'pr-1', { title: 'a-1' }), laptop.upsert('prompt', 'pr-2', { title: 'b-2' })]);
    // The field camera: an annotation, and a photo of a type nobody published yet (parked).
    const shot = cam.upsert('annotation', 'shot-1', { label: 'boat' });
    photo = cam.event('photo', 'harbour', 'upsert', { fields: { caption: { op: 'set', value: 'boats at dawn' }, original: { op: 'set', value: neverUploaded } } });
    await send(cam, [shot, photo]);
    // An upload in progress: 400 of 1000 bytes.
    const created = await fetch(`${stack.url('asset-service')}/v1/uploads`, {
      method: 'POST',
      headers: {
        'tus-resumable': '1.0.0',
        ...creds.get(cam.deviceId)!.headers,
        'upload-length': '1000',
        'upload-metadata': `sha256 ${Buffer.from(createHash('sha256').update(randomUUID()).digest('base64')).toString('base64')},contentType ${Buffer.from('image/png').toString('base64')}`,
      },
    });
    assert.equal(created.status, 201, await created.text());
    const upload = new URL(created.headers.get('location')!, stack.url('asset-service')).toString();
    const patched = await fetch(upload, {
      method: 'PATCH',
      headers: { 'tus-resumable': '1.0.0', ...creds.get(cam.deviceId)!.headers, 'content-type': 'application/offset+octet-stream', 'upload-offset': '0' },
      body: new Uint8Array(400),
    });
    assert.equal(patched.status, 204);

    await eventually(
      async () => {
        assert.equal((await api(`/v1/conflicts/${encodeURIComponent(conflictId)}`)).status, 200);
        assert.equal((await api('/v1/parked')).body.parked.length, 1);
        assert.equal(await count(stack.db, 'SELECT count(*) AS n FROM event_receipts'), 9);
      },
      { timeoutMs: 30_000, message: 'every push projected, the conflict opened and the photo parked' },
    );

    const context = await browser.newContext({ viewport: { width: 1440, height: 960 } });
    // The dashboard must work with ops-api alone: any other request is refused and recorded.
    await context.route('**/*', async (route) => {
      if (route.request().url().startsWith(`${ops}/`)) return route.continue();
      outside.push(route.request().url());
      return route.abort();
    });
    page = await context.newPage();
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
  });

  after(async () => {
    await browser?.close();
    await stack?.stop();
  });

  it('serves the dashboard without a token, under a strict content security policy, and only its own files', async () => {
    const index = await fetch(`${ops}/`);
    assert.equal(index.status, 200);
    assert.match(index.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(await index.text(), /<script type="module" src="\/dashboard\/app\.js"><\/script>/);
    assert.match(index.headers.get('content-security-policy') ?? '', /default-src 'none'; script-src 'self'; style-src 'self'.*connect-src 'self'/);
    const script = await fetch(`${ops}/dashboard/pages/parked.js`);
    assert.deepEqual([script.status, script.headers.get('content-type')], [200, 'text/javascript; charset=utf-8']);
    const etag = script.headers.get('etag')!;
    assert.equal((await fetch(`${ops}/dashboard/pages/parked.js`, { headers: { 'if-none-match': etag } })).status, 304);
    assert.equal((await fetch(`${ops}/dashboard/`)).status, 200);
    for (const path of ['/dashboard/nothing.js', '/dashboard/%2e%2e/package.json', '/dashboard/..%2fpackage.json']) {
      const missing = await fetch(`${ops}${path}`);
      assert.equal(missing.status, 404, path);
      assert.match(missing.headers.get('content-type') ?? '', /^application\/problem\+json/);
    }
    assert.equal((await fetch(`${ops}/v1/overview`)).status, 401, 'the API still needs a token');
  });

  it('refuses a wrong token on the sign-in form with the API’s reason, and keeps nothing', async () => {
    await page.goto(`${ops}/`);
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    const token = stack.operatorHeaders.authorization!.replace(/^Bearer /, '');
    const at = token.length - 10;
    const forged = `${token.slice(0, at)}${token[at] === 'A' ? 'B' : 'A'}${token.slice(at + 1)}`;
    await page.getByLabel('Operator token').fill(forged);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await pageShows('#signin-error', /Sign-in refused.*Unauthorized \(401\).*the token signature does not verify/, 'a forged token is refused with the reason');
    await shoot('signin-refused');

    await page.getByLabel('Operator token').fill(creds.get(tablet.deviceId)!.accessToken);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await pageShows('#signin-error', /may not use the operator API.*Forbidden \(403\).*needs an operator token; a device token was sent/, 'a device token is refused with the reason');
    assert.equal(await page.evaluate('sessionStorage.length'), 0, 'no token kept');
    assert.equal(await page.locator('#nav').isHidden(), true);
  });

  it('signs in; the overview shows every service ready, the journal, lag, rates and what waits for an operator', async () => {
    await page.getByLabel('Operator token').fill(stack.operatorHeaders.authorization!.replace(/^Bearer /, ''));
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    assert.equal(await page.evaluate("sessionStorage.getItem('tidemark.operatorToken')"), stack.operatorHeaders.authorization!.replace(/^Bearer /, ''));
    for (const name of ['journal-service', 'merge-service', 'gateway', 'asset-service']) {
      await pageShows(`tr[data-key="${name}"] td[data-col="Readiness"]`, /^ready$/, `${name} ready`);
    }
    await pageShows('[data-tile="Services ready"]', /all ready/, 'all services ready');
    await pageShows('[data-tile="Parked"] .tile-value', /^1$/, 'one parked message');
    await pageShows('[data-tile="Open conflicts"] .tile-value', /^1$/, 'one open conflict');
    await pageShows('[data-tile="Uploads in progress"]', /^1Uploads in progress600 B pending$/, 'the upload in progress');
    await pageShows('[data-tile="Projection lag"] .tile-value', /^0 msgs$/, 'the projection caught up');
    await pageShows('[data-tile="Ingest rate"] .tile-value', /^[0-9.,]+\/s$/, 'the ingest rate once sampled');
    const lastSeq = (await api('/v1/streams')).body.streams.find((s: any) => s.name === 'JOURNAL').lastSeq;
    await pageShows('td[data-col="Journal last seq"]', (t) => t === String(lastSeq), 'the journal’s last sequence');
    await shoot('overview');

    // Live: new events show without a reload, and the page says when it was updated.
    const before = await text('#updated');
    assert.match(before, /^Updated \d{1,2}:\d{2}:\d{2}.* · live every 2 s$/);
    await send(cam, [cam.upsert('annotation', 'shot-2', { label: 'gull' }), cam.upsert('annotation', 'shot-3', { label: 'pier' })]);
    await pageShows('td[data-col="Journal last seq"]', (t) => t === String(lastSeq + 2), 'the two new events, without a reload');
    assert.notEqual(await text('#updated'), before);
  });

  it('streams: every stream and consumer with its lag, and each merge partition’s checkpoint', async () => {
    await openSection('Streams');
    const streams = (await api('/v1/streams')).body;
    for (const s of streams.streams) await page.locator('section.card h2', { hasText: new RegExp(`^${s.name}$`) }).waitFor();
    for (const p of ['p00', 'p01', 'p02', 'p03']) {
      const { checkpointSeq } = streams.projection.partitions.find((x: any) => x.partition === p);
      const shown = (t: string) => (checkpointSeq === null ? t === '—' : Number(t.replace(/,/g, '')) >= checkpointSeq);
      await pageShows(`tr[data-key="merge-${p}"] td[data-col="Checkpoint seq"]`, shown, `merge-${p}'s checkpoint`);
      await pageShows(`tr[data-key="JOURNAL/merge-${p}"] td[data-col="Lag"]`, /^0$/, `merge-${p} has no backlog`);
    }
    await shoot('streams');
  });

  it('devices & sites: a device silent while its site is active is highlighted, grouped under its site', async () => {
    let pushing = true;
    // The dock tablet keeps pushing, so its site is active while the dock laptop stays silent.
    const keepPushing = (async () => {
      for (let i = 0; pushing; i++) {
        await send(tablet, [tablet.upsert('annotation', `dock-${i % 5}`, { confidence: i / 100 })]);
        await new Promise((resolve) => setTimeout(resolve, 300));
      }
    })();
    try {
      await openSection('Devices & sites');
      await pageShows(
        'section[data-site="acme/dock"] tr[data-key="acme/dock-laptop"]',
        /dock-laptop.*stale.*not heard from for \d+ s \(more than 2 s\) while site "dock" is active/,
        'the silent laptop falling behind',
      );
      assert.match((await page.locator('tr[data-key="acme/dock-laptop"]').getAttribute('class')) ?? '', /\bbehind\b/, 'highlighted');
      await pageShows('tr[data-key="acme/dock"] td[data-col="Falling behind"]', /^1: dock-laptop$/, 'the dock site counts it');
      await pageShows('section[data-site="acme/dock"] tr[data-key="acme/dock-tablet"] td[data-col="Falling behind"]', /^keeping up$/, 'the tablet keeps up');
      await pageShows('section[data-site="acme/field"] tr[data-key="acme/field-cam"] td[data-col="Falling behind"]', /^keeping up$/, 'a site quiet as a whole is not falling behind');
      assert.equal(await page.locator('section[data-site="acme/dock"] tbody tr').count(), 2);
      await shoot('devices');
    } finally {
      pushing = false;
      await keepPushing;
    }
  });

  it('parked: shows the reason; after the schema is published, Re-drive on the page applies the event exactly once', async () => {
    await openSection('Parked');
    const [entry] = (await api('/v1/parked')).body.parked;
    const row = `tr[data-key="${entry.consumer}/${entry.seq}"]`;
    await pageShows(row, /photo\/harbour.*field-cam #2.*unknown-entity-type.*unknown entity type "photo" \(known: annotation, job, output, prompt\)/, 'the parked photo with its reason');
    await shoot('parked');

    const schema = { type: 'photo', version: 1, onDeleteConflict: 'delete-wins', fields: { caption: { policy: 'lww', valueType: 'string' }, original: { policy: 'lww', valueType: 'asset' } } };
    const put = await fetch(`${stack.url('journal-service')}/v1/schemas/photo/1`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', ...stack.operatorHeaders },
      body: JSON.stringify(schema),
    });
    assert.equal(put.status, 201, await put.text());

    await page.locator(row).getByRole('button', { name: 'Re-drive' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByRole('heading', { name: 'Re-drive photo/harbour' }).waitFor();
    await dialog.getByLabel('Reason (audited)').fill('photo v1 published');
    await dialog.getByRole('button', { name: 'Re-drive' }).click();
    await pageShows('#flash', new RegExp(`^Re-drive of journal sequence ${entry.seq} journaled at sequence \\d+; merge-service applies it next\\.$`), 'the re-drive journaled');
    assert.equal(await dialog.isHidden(), true);

    const inspected = await eventually(
      async () => {
        const e = (await api(`/v1/events/${photo.eventId}`)).body;
        assert.equal(e.receipt?.status, 'applied');
        return e;
      },
      { timeoutMs: 20_000, message: 'the re-driven photo applied' },
    );
    assert.equal(inspected.receipt.version, 1);
    assert.deepEqual(inspected.entity.after.view.values, { caption: 'boats at dawn', original: neverUploaded });
    assert.equal(await count(stack.db, 'SELECT count(*) AS n FROM event_receipts WHERE event_id = $1', [photo.eventId]), 1);
    const audit = (await api(`/v1/parked/${entry.consumer}/${entry.seq}`)).body.audit;
    assert.deepEqual(
      audit.map((a: any) => [a.actor, a.action, a.reason, a.outcome]),
      [['test-operator', 'parked.redrive', 'photo v1 published', 'ok']],
    );

    await pageShows('#page-body section.card', /Nothing is parked\./, 'the page no longer lists it as parked');
    await page.getByLabel('Status').selectOption('all');
    await pageShows(row, /redriven.*photo v1 published/, 'listed as re-driven with the reason');
    await shoot('parked-redriven');
  });

  it('parked: Edit corrects an event on the page (a refused edit shows the API’s problem in the dialog), Skip sets one aside', async () => {
    const wrongVersion = cam.event('annotation', 'dock-crane', 'upsert', { schemaVersion: 4, fields: { label: { op: 'set', value: 'crane' } } });
    const sketch = cam.event('sketch', 'pier', 'upsert', { fields: { lines: { op: 'set', value: 12 } } });
    await send(cam, [wrongVersion, sketch]);
    const entries = await eventually(
      async () => {
        const parked = (await api('/v1/parked')).body.parked;
        assert.equal(parked.length, 2);
        return parked as { consumer: string; seq: number; eventId: string }[];
      },
      { message: 'both parked' },
    );
    const rowOf = (eventId: string) => {
      const e = entries.find((x) => x.eventId === eventId)!;
      return `tr[data-key="${e.consumer}/${e.seq}"]`;
    };
    await page.getByLabel('Status').selectOption('parked');
    await pageShows(rowOf(wrongVersion.eventId), /annotation\/dock-crane.*unknown-schema-version/, 'the event of an unknown schema version');

    await page.locator(rowOf(wrongVersion.eventId)).getByRole('button', { name: 'Edit' }).click();
    const dialog = page.getByRole('dialog');
    const box = dialog.getByLabel('Event (JSON)');
    const event = JSON.parse(await box.inputValue());
    assert.deepEqual(event, wrongVersion, 'the parked event, to correct');
    await box.fill(JSON.stringify({ ...event, schemaVersion: 1, deviceSeq: 99 }, null, 2));
    await dialog.getByLabel('Reason (audited)').fill('device shipped v4 by mistake');
    await dialog.getByRole('button', { name: 'Re-drive edited event' }).click();
    await pageShows('#dialog-error', /^Edited event is another event \(422\): an edit corrects the parked event.*\/event\/deviceSeq/, 'the refusal, readably, in the dialog');
    await shoot('parked-edit-refused');
    await box.fill(JSON.stringify({ ...event, schemaVersion: 1 }, null, 2));
    await dialog.getByRole('button', { name: 'Re-drive edited event' }).click();
    await pageShows('#flash', /^Edit of journal sequence \d+ journaled at sequence \d+/, 'the edit journaled');
    await eventually(async () => assert.equal((await api(`/v1/events/${wrongVersion.eventId}`)).body.receipt?.status, 'applied'), { timeoutMs: 20_000, message: 'the edited event applied' });
    const crane = (await stack.db.query("SELECT view FROM entities WHERE workspace = 'acme' AND entity_type = 'annotation' AND entity_id = 'dock-crane'")).rows[0];
    assert.equal(crane.view.values.label, 'crane');

    await page.locator(rowOf(sketch.eventId)).getByRole('button', { name: 'Skip' }).click();
    await dialog.getByRole('heading', { name: 'Skip sketch/pier' }).waitFor();
    await dialog.getByLabel('Reason (audited)').fill('sketch never shipped to devices');
    await dialog.getByRole('button', { name: 'Skip' }).click();
    await pageShows('#flash', /^Skip of journal sequence \d+ journaled/, 'the skip journaled');
    await eventually(
      async () => {
        const receipt = (await api(`/v1/events/${sketch.eventId}`)).body.receipt;
        assert.deepEqual([receipt?.status, receipt?.reason], ['skipped', 'skipped by an operator: sketch never shipped to devices']);
      },
      { timeoutMs: 20_000 },
    );
    assert.equal(await count(stack.db, "SELECT count(*) AS n FROM entities WHERE entity_type = 'sketch'"), 0);
    await pageShows('#page-body section.card', /Nothing is parked\./, 'nothing left parked');
  });

  it('conflicts: hotspots and the ledger show the conflict; resolving on the page journals it and it shows resolved', async () => {
    await openSection('Conflicts');
    await pageShows('tr[data-key="acme/annotation/label"]', /acmeannotationlabel1/, 'the hotspot');
    const row = `tr[data-key="${conflictId}"]`;
    await pageShows(row, /annotation\/img-7.*label.*"cat".*dock-tablet.*"dog".*dock-laptop.*open/, 'the conflict with both sides');
    await shoot('conflicts');

    await page.locator(row).getByRole('button', { name: 'Resolve' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByRole('heading', { name: 'Resolve label of annotation/img-7' }).waitFor();
    await dialog.getByRole('radio', { name: /^theirs: "dog"/ }).check();
    await dialog.getByLabel('Reason (audited)').fill('the laptop had the better view');
    await dialog.getByRole('button', { name: 'Resolve' }).click();
    await pageShows('#flash', /^Resolution of label on annotation\/img-7 journaled at sequence \d+; it shows resolved once merge-service applied it\.$/, 'the resolution journaled');

    await eventually(async () => assert.equal((await api(`/v1/conflicts/${encodeURIComponent(conflictId)}`)).body.status, 'resolved'), { timeoutMs: 20_000, message: 'the conflict resolved' });
    const entity = (await stack.db.query<{ view: any }>("SELECT view FROM entities WHERE workspace = 'acme' AND entity_type = 'annotation' AND entity_id = 'img-7'")).rows[0]!;
    assert.equal(entity.view.values.label, 'dog');
    assert.equal(await count(stack.db, "SELECT count(*) AS n FROM audit_log WHERE action = 'conflict.resolve' AND reason = 'the laptop had the better view' AND outcome = 'ok'"), 1);

    await pageShows('#page-body', /No open conflicts\..*No conflicts with this status\./, 'nothing open any more');
    await page.getByLabel('Status').selectOption('resolved');
    await pageShows(row, /annotation\/img-7.*resolvedat seq \d+/, 'shown resolved');
    await shoot('conflicts-resolved');
  });

  it('replays: a dry run requested on the page shows progress and its diff, and swaps on confirmation', async () => {
    const revision = { type: 'prompt', revision: 2, fields: { title: { policy: 'max' } }, description: 'titles only grow' };
    const published = await fetch(`${stack.url('journal-service')}/v1/schemas/prompt/revisions/2`, {
      method: 'PUT',
      headers: { ...stack.operatorHeaders, 'content-type': 'application/json' },
      body: JSON.stringify(revision),
    });
    assert.equal(published.status, 201, await published.text());

    await openSection('Replays');
    await page.getByLabel('Workspace', { exact: true }).fill('acme');
    await page.getByLabel('Entity type').fill('prompt');
    await page.getByLabel('Policy revisions').fill('prompt=7');
    await page.locator('#replay-reason').fill('titles only grow from now on');
    await page.getByRole('button', { name: 'Request dry run' }).click();
    await pageShows('#replay-form .problem', /Validation failed \(400\).*\/policyRevisions\/prompt.*no published policy revision 7/, 'an unpublished revision refused with its pointer');

    await page.getByLabel('Policy revisions').fill('prompt=2');
    // One event a second: the four prompt events take a few seconds to rebuild, long enough to watch.
    await page.getByLabel('Events per second').fill('1');
    await page.getByRole('button', { name: 'Request dry run' }).click();
    await page.waitForURL(/#\/replays\/[0-9a-f-]{36}$/);
    const id = page.url().split('/').at(-1)!;
    await pageShows('#page-body', /^building.*Events rebuilt[0-3] of 4/, 'the rebuild in progress', 30_000);
    const percent = Number((await text('#page-body .progress-text')).replace('%', ''));
    assert.ok(percent >= 0 && percent < 100, `progress part way: ${percent}%`);
    assert.equal(await page.locator('#page-body progress').getAttribute('value'), String(percent));
    await shoot('replay-building');
    await pageShows('#page-body .actions.bar', /^built/, 'the replay built', 60_000);
    await pageShows('#page-body .progress', /^100%$/, 'progress at 100%');
    await pageShows('#page-body', /2 entities: 1 changed, 1 unchanged, 0 added, 0 removed/, 'the diff summary');
    await pageShows('tr[data-key="acme/prompt/pr-1"]', /prompt\/pr-1.*changed.*title: "a-1" → "b-1"/, 'the changed title, live → shadow');
    await shoot('replay-built');
    assert.equal(
      (await stack.db.query("SELECT view FROM entities WHERE workspace = 'acme' AND entity_type = 'prompt' AND entity_id = 'pr-1'")).rows[0].view.values.title,
      'a-1',
      'a dry run changes nothing live',
    );

    await page.getByRole('button', { name: 'Swap into live…' }).click();
    const dialog = page.getByRole('dialog');
    const digest = (await api(`/v1/replays/${id}`)).body.diff.digest;
    await pageShows('#dialog', new RegExp(`Digest: ${digest}`), 'the digest to confirm');
    await dialog.getByLabel('I read this diff and want live to become the shadow').check();
    await dialog.getByLabel('Reason (audited)').fill('titles only grow from now on');
    await dialog.getByRole('button', { name: 'Swap' }).click();
    await pageShows('#flash', /^Swapped: 1 entities changed, 1 changes published\.$/, 'the swap');
    assert.equal((await api(`/v1/replays/${id}`)).body.status, 'swapped');
    assert.equal((await stack.db.query("SELECT view FROM entities WHERE workspace = 'acme' AND entity_type = 'prompt' AND entity_id = 'pr-1'")).rows[0].view.values.title, 'b-1');
    await pageShows('#page-body .actions.bar', /^swapped$/, 'shown swapped');

    await page.getByRole('link', { name: '← all replays' }).click();
    await pageShows(`tr[data-key="${id}"]`, /swapped.*workspace=acme · entityType=prompt.*prompt@2.*100%.*2 entities: 1 changed/, 'the list with the swapped replay');
    await shoot('replays');
  });

  it('assets: the upload in progress by file class, and the record waiting for its asset', async () => {
    await openSection('Assets');
    await pageShows('tr[data-key="acme/image"]', /acme.*image.*image\/png \(1\).*1.*400 B.*600 B/, 'the image upload in progress');
    await pageShows(`tr[data-key="acme/photo/harbour/original/${neverUploaded}"]`, /photo\/harbour.*original.*missing/, 'the re-driven photo waits for its original');
    await shoot('assets');

    // A refused query: the page shows the API's problem, and it goes once the query is fixed.
    const filter = page.getByRole('searchbox', { name: 'Workspace' });
    await filter.fill('not a workspace!');
    await filter.press('Enter');
    await pageShows('#page-error', /^Validation failed \(400\): the request is not valid.*query:workspace/, 'the API’s problem, readably');
    await pageShows('#updated', /^Refresh failing/, 'the refresh failing');
    await filter.fill('acme');
    await filter.press('Enter');
    await page.locator('#page-error').waitFor({ state: 'hidden' });
    await pageShows('tr[data-key="acme/image"]', /image\/png/, 'acme’s uploads');
  });

  /** Opens a route by its hash and waits for that page's first refresh (its title, data drawn, live). */
  const visit = async (hash: string, title: string) => {
    await page.evaluate(`location.hash = ${JSON.stringify(hash)}`);
    await eventually(
      async () => {
        const shown = (await page.evaluate(
          `[document.querySelector('#page-title').textContent, document.querySelector('#page-body').textContent, document.querySelector('#updated').dataset.state, location.hash]`,
        )) as string[];
        assert.deepEqual([shown[0], shown[1] === 'Loading…', shown[2], shown[3]], [title, false, 'live', hash]);
      },
      { timeoutMs: 15_000, intervalMs: 100, message: `the ${title} page at ${hash}` },
    );
  };
  /** The keys of the rows of the conflict ledger on the page (hotspot rows have no colon in their key). */
  const conflictRows = async () => (await page.evaluate(`[...document.querySelectorAll('#page-body tr[data-key*=":"]')].map((tr) => tr.dataset.key).join(' ')`)) as string;

  it('conflicts: paged and filtered; open conflicts picked on two pages are resolved by one rule, checked on the server and in the audit page; a dialog closes on navigation', async () => {
    const ids = ['bulk-1', 'bulk-2', 'bulk-3', 'bulk-4', 'bulk-5'];
    await send(
      tablet,
      ids.map((id) => tablet.upsert('annotation', id, { confidence: 0.1 })),
    );
    await send(
      tablet,
      ids.map((id) => tablet.upsert('annotation', id, { label: 'cat' }, 0)),
    );
    const theirs = ids.map((id) => laptop.upsert('annotation', id, { label: 'dog' }, 0));
    await send(laptop, theirs);
    const conflictIds = theirs.map((e) => `${e.eventId}:label`);
    await eventually(async () => assert.equal((await api('/v1/conflicts?entityType=annotation&field=label')).body.conflicts.length, 5), { timeoutMs: 20_000, message: 'five label conflicts open' });

    // The API refuses what it cannot do whole, naming the member or parameter, and journals nothing.
    const pointers = async (path: string, body?: unknown) => {
      const answer = await api(path, body === undefined ? {} : { method: 'POST', body });
      assert.equal(answer.status, 400, JSON.stringify(answer.body));
      return answer.body.errors.map((e: any) => e.pointer);
    };
    const one = { workspace: 'acme', conflictId: conflictIds[0] };
    assert.deepEqual(await pointers('/v1/conflicts/resolve', { conflicts: Array.from({ length: 101 }, () => one), pick: 'ours', reason: 'too many' }), ['/conflicts']);
    assert.deepEqual(await pointers('/v1/conflicts/resolve', { conflicts: [one, one], pick: 'ours', reason: 'twice' }), ['/conflicts/1']);
    assert.deepEqual((await pointers('/v1/conflicts/resolve', { conflicts: [one], pick: 'value' })).sort(), ['/pick', '/reason']);
    assert.deepEqual(await pointers('/v1/parked/redrive', { entries: [], reason: 'none' }), ['/entries']);
    assert.deepEqual((await pointers('/v1/audit?limit=0&action=Not%20an%20action')).sort(), ['query:action', 'query:limit']);
    assert.deepEqual(await pointers('/v1/conflicts?after=nonsense'), ['query:after']);

    // Three pages of two: each as the API pages it, then no next page.
    await visit('#/conflicts?entityType=annotation&field=label&limit=2', 'Conflicts');
    const listed: string[] = [];
    for (let n = 1, after = ''; ; n++) {
      const expected = (await api(`/v1/conflicts?entityType=annotation&field=label&limit=2${after ? `&after=${encodeURIComponent(after)}` : ''}`)).body;
      const keys = expected.conflicts.map((c: any) => c.id).join(' ');
      await eventually(async () => assert.equal(await conflictRows(), keys), { timeoutMs: 10_000, message: `page ${n} of the conflicts` });
      listed.push(...expected.conflicts.map((c: any) => c.id));
      if (!expected.hasMore) break;
      if (n === 1) await shoot('conflicts-paged');
      await page.getByRole('button', { name: 'Next page »' }).click();
      after = expected.next;
    }
    assert.deepEqual([...listed].sort(), [...conflictIds].sort(), 'every open label conflict once, over three pages');
    assert.equal(await page.locator('.pager-next').count(), 0, 'no next page after the last');

    // A filter matching none, then back.
    const typeFilter = page.getByRole('searchbox', { name: 'Entity type' });
    await typeFilter.fill('prompt');
    await typeFilter.press('Enter');
    await pageShows('#page-body', /No conflicts with this status\./, 'no prompt conflicts');
    await typeFilter.fill('annotation');
    await typeFilter.press('Enter');
    await eventually(async () => assert.equal(await conflictRows(), listed.slice(0, 2).join(' ')), { timeoutMs: 10_000, message: 'the first page again' });

    // Pick the first page whole and one of the second; the picks outlive paging.
    await page.getByRole('checkbox', { name: 'Pick all on this page' }).check();
    await page.getByRole('button', { name: 'Next page »' }).click();
    await eventually(async () => assert.equal(await conflictRows(), listed.slice(2, 4).join(' ')), { timeoutMs: 10_000, message: 'the second page' });
    const picked = listed.slice(0, 3);
    await page.locator(`tr[data-key="${picked[2]}"]`).getByRole('checkbox').check();
    await page.getByRole('button', { name: 'Resolve 3 picked…' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByRole('heading', { name: 'Resolve 3 conflicts by one rule' }).waitFor();
    await dialog.getByRole('radio', { name: /^ours/ }).check();
    await dialog.getByLabel('Reason (audited)').fill('the tablet labelled these');
    await dialog.getByRole('button', { name: 'Resolve 3' }).click();
    await pageShows('#flash', /^3 resolutions \(keep ours\) journaled; they show resolved once merge-service applied them\.$/, 'the bulk resolution journaled');

    await eventually(
      async () => {
        const statuses = await Promise.all(listed.map(async (id) => (await api(`/v1/conflicts/${encodeURIComponent(id)}`)).body.status));
        assert.deepEqual(statuses, ['resolved', 'resolved', 'resolved', 'open', 'open']);
      },
      { timeoutMs: 20_000, message: 'the three picked resolved, the other two open' },
    );
    const labels = await stack.db.query<{ entity_id: string; label: string }>(
      "SELECT entity_id, view->'values'->>'label' AS label FROM entities WHERE workspace = 'acme' AND entity_id LIKE 'bulk-%' ORDER BY entity_id",
    );
    const resolvedIds = new Set(theirs.filter((e) => picked.includes(`${e.eventId}:label`)).map((e) => e.entity.id));
    for (const row of labels.rows) if (resolvedIds.has(row.entity_id)) assert.equal(row.label, 'cat', `${row.entity_id} keeps ours`);
    assert.equal(
      await count(stack.db, "SELECT count(*) AS n FROM audit_log WHERE action = 'conflict.resolve' AND reason = 'the tablet labelled these' AND outcome = 'ok' AND (detail->>'bulk')::int = 3"),
      3,
    );

    // A dialog open on a page closes when the operator navigates away (here, to the audit log).
    await page.locator(`tr[data-key="${listed[3]}"]`).getByRole('button', { name: 'Resolve' }).click();
    await dialog.getByRole('heading', { name: /^Resolve label of annotation\/bulk-/ }).waitFor();
    await visit('#/audit?action=conflict.resolve', 'Audit log');
    assert.equal(await dialog.isHidden(), true, 'the dialog closed with its page');
    await eventually(async () => assert.equal(await page.locator('#page-body tbody tr', { hasText: 'the tablet labelled these' }).count(), 3), {
      timeoutMs: 10_000,
      message: 'the three resolutions in the audit page',
    });
    await pageShows('#page-body tbody', /the laptop had the better view/, 'and the single one before');
    await shoot('audit-conflicts');
  });

  it('parked: entries picked on two pages are re-driven together, checked on the server and in the audit page', async () => {
    const crates = [1, 2, 3].map((i) => cam.event('crate', `crate-${i}`, 'upsert', { fields: { caption: { op: 'set', value: `crate ${i}` } } }));
    await send(cam, crates);
    const entries = await eventually(
      async () => {
        const parked = (await api('/v1/parked')).body.parked;
        assert.deepEqual(parked.map((e: any) => e.eventId).sort(), crates.map((e) => e.eventId).sort());
        return parked as { consumer: string; seq: number }[];
      },
      { timeoutMs: 20_000, message: 'the three crates parked' },
    );
    const schema = { type: 'crate', version: 1, onDeleteConflict: 'delete-wins', fields: { caption: { policy: 'lww', valueType: 'string' } } };
    const put = await fetch(`${stack.url('journal-service')}/v1/schemas/crate/1`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', ...stack.operatorHeaders },
      body: JSON.stringify(schema),
    });
    assert.equal(put.status, 201, await put.text());

    await visit('#/parked?limit=2', 'Parked & retries');
    const rowOf = (e: { consumer: string; seq: number }) => `tr[data-key="${e.consumer}/${e.seq}"]`;
    await page.locator(rowOf(entries[0]!)).waitFor();
    await page.locator(rowOf(entries[1]!)).waitFor();
    await page.getByRole('checkbox', { name: 'Pick all on this page' }).check();
    await page.getByRole('button', { name: 'Next page »' }).click();
    await page.locator(rowOf(entries[2]!)).getByRole('checkbox').check();
    assert.equal(await page.locator(rowOf(entries[0]!)).count(), 0, 'the second page alone');
    await page.getByRole('button', { name: 'Re-drive 3 picked…' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByRole('heading', { name: 'Re-drive 3 parked entries' }).waitFor();
    await dialog.getByLabel('Reason (audited)').fill('crate v1 published');
    await dialog.getByRole('button', { name: 'Re-drive 3' }).click();
    await pageShows('#flash', /^3 re-drives journaled; merge-service applies them next\.$/, 'the bulk re-drive journaled');

    await eventually(
      async () => {
        for (const e of crates) assert.equal((await api(`/v1/events/${e.eventId}`)).body.receipt?.status, 'applied', e.entity.id);
      },
      { timeoutMs: 20_000, message: 'the three crates applied' },
    );
    assert.equal(await count(stack.db, "SELECT count(*) AS n FROM entities WHERE workspace = 'acme' AND entity_type = 'crate'"), 3);
    const audited = (await api('/v1/audit?action=parked.redrive&limit=10')).body.entries.filter((a: any) => a.reason === 'crate v1 published');
    assert.deepEqual(audited.map((a: any) => [a.outcome, a.detail.bulk, `${a.target.consumer}/${a.target.seq}`]).sort(), entries.map((e) => ['ok', 3, `${e.consumer}/${e.seq}`]).sort());

    await visit('#/audit?action=parked.*', 'Audit log');
    await eventually(async () => assert.equal(await page.locator('#page-body tbody tr', { hasText: 'crate v1 published' }).count(), 3), {
      timeoutMs: 10_000,
      message: 'the three re-drives in the audit page',
    });
    await pageShows('#page-body tbody', /photo v1 published/, 'and the single re-drive before');
  });

  it('devices page through; every page at 1366×768 and at 800 px: nothing wider than the page, every navigation link visible, sparklines on the overview; a screenshot of each', async () => {
    // A workspace with read scopes and subscribers, for the scopes page.
    const gateway = stack.url('gateway');
    const admin = async (path: string, method: string, body: unknown) => {
      const r = await fetch(`${gateway}/v1/admin/workspaces/lab${path}`, { method, headers: { ...stack.operatorHeaders, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      const json = (await r.json()) as any;
      assert.ok(r.status === 200 || r.status === 201, JSON.stringify(json));
      return json;
    };
    const created = await fetch(`${gateway}/v1/admin/workspaces`, {
      method: 'POST',
      headers: { ...stack.operatorHeaders, 'content-type': 'application/json' },
      body: JSON.stringify({ workspace: 'lab' }),
    });
    assert.equal(created.status, 200, await created.text());
    const task = await fetch(`${stack.url('journal-service')}/v1/schemas/task/1`, {
      method: 'PUT',
      headers: { ...stack.operatorHeaders, 'content-type': 'application/json' },
      body: JSON.stringify(PARTITIONED_TASK_V1),
    });
    assert.ok(task.status === 200 || task.status === 201, await task.text());
    await admin('/access-rules', 'PUT', {
      rules: {
        version: 1,
        defaultRole: 'annotator',
        scopes: { project: { types: ['task'], partition: { values: { claim: 'projects' } } }, catalog: { types: ['prompt'] } },
        roles: { annotator: { write: { task: ['label'] }, read: ['project', 'catalog'] }, lead: { write: '*', resolve: true } },
      },
      reason: 'projects',
    });
    for (const [id, projects] of [
      ['lab-alice', ['p1']],
      ['lab-bob', ['p1', 'p2']],
    ] as const) {
      const enrolled = await admin('/devices', 'POST', { deviceId: id, role: 'annotator', claims: { projects }, reason: 'dashboard test' });
      const subscribed = await fetch(`${gateway}/v1/subscriptions`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${enrolled.accessToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ subscriptions: [...projects.map((value) => ({ scope: 'project', value })), { scope: 'catalog' }] }),
      });
      assert.equal(subscribed.status, 200, await subscribed.text());
      // An annotator may not write prompts: refused, and shown on the devices page with its rule.
      if (id === 'lab-alice') assert.equal((await push(gateway, [new FakeDevice(id).upsert('prompt', 'pr-1', { title: 'x' })], { authorization: `Bearer ${enrolled.accessToken}` })).status, 403);
    }

    // Devices page through, two at a time, as the API pages them.
    const byDevice = async (after: string) => (await api(`/v1/devices?sort=device&limit=2${after ? `&after=${after}` : ''}`)).body;
    const devicesShown = async () => (await page.evaluate(`[...document.querySelectorAll('#page-body tr[data-key] td.device')].map((td) => td.textContent).join(' ')`)) as string;
    await visit('#/devices?sort=device&limit=2', 'Devices & sites');
    const first = await byDevice('');
    assert.ok(first.total > 4, `more devices than two pages: ${first.total}`);
    await pageShows('.pager-shown', new RegExp(`^devices 1–2 of ${first.total},`), 'the first two devices');
    await eventually(async () => assert.deepEqual((await devicesShown()).split(' ').sort(), first.devices.map((d: any) => d.deviceId).sort()), { timeoutMs: 10_000 });
    await page.getByRole('button', { name: 'Next page »' }).click();
    const second = await byDevice(first.next);
    await pageShows('.pager-shown', new RegExp(`^devices 3–4 of ${first.total},`), 'the next two devices');
    await eventually(async () => assert.deepEqual((await devicesShown()).split(' ').sort(), second.devices.map((d: any) => d.deviceId).sort()), { timeoutMs: 10_000 });

    const pages: [string, string, string][] = [
      ['overview', '#/overview', 'Overview'],
      ['streams', '#/streams', 'Streams'],
      ['devices', '#/devices', 'Devices & sites'],
      ['scopes', '#/scopes?workspace=lab', 'Scopes'],
      ['parked', '#/parked?status=all', 'Parked & retries'],
      ['conflicts', '#/conflicts?status=all', 'Conflicts'],
      ['replays', '#/replays', 'Replays'],
      ['assets', '#/assets', 'Assets'],
      ['queues', '#/queues', 'Queues & backlog'],
      ['audit', '#/audit', 'Audit log'],
    ];
    const layout = async () =>
      (await page.evaluate(`(() => {
        const doc = document.scrollingElement;
        const links = [...document.querySelectorAll('#nav a')].filter((a) => {
          const r = a.getBoundingClientRect();
          const inside = r.width > 0 && r.height > 0 && r.left >= 0 && r.right <= innerWidth && r.top >= 0 && r.bottom <= innerHeight;
          return !inside || !a.contains(document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2));
        });
        const clipped = [...document.querySelectorAll('#page .table-wrap, #page .card')].filter((el) => el.scrollWidth > el.clientWidth + 1);
        return { page: doc.scrollWidth - doc.clientWidth, hiddenLinks: links.map((a) => a.textContent), clipped: clipped.map((el) => el.className + ': ' + (el.closest('section')?.querySelector('h2')?.textContent ?? '')) };
      })()`)) as { page: number; hiddenLinks: string[]; clipped: string[] };
    for (const [width, height] of [
      [1366, 768],
      [800, 900],
    ] as const) {
      await page.setViewportSize({ width, height });
      for (const [name, hash, title] of pages) {
        await visit(hash, title);
        if (name === 'devices') await pageShows('#page-body', /last .* by role annotator \(rules v1\): \/events\/0\/entity\/type type-not-writable/, "alice's refused write with its rule");
        if (name === 'scopes') {
          await pageShows('section[data-scope="project"] tr[data-key="/p1"]', /p12lab-alice, lab-bob/, 'project p1 with both subscribers');
          await pageShows('section[data-scope="project"] [data-lag] tr[data-key="p2/lab-bob"]', /lab-bob.*never read/, 'the lag of p2: bob never read');
        }
        if (name === 'overview') {
          for (const label of ['Ingest / s', 'Projection / s', 'Lag (messages)', 'Lag (oldest)']) {
            const points = Number(await page.locator(`[data-sparkline="${label}"]`).getAttribute('data-points'));
            assert.ok(points >= 2, `${label}: ${points} samples`);
            assert.equal(await page.locator(`[data-sparkline="${label}"] polyline`).count(), 1, `${label} drawn`);
          }
        }
        assert.deepEqual(await layout(), { page: 0, hiddenLinks: [], clipped: [] }, `${name} at ${width} px`);
        await shoot(`${name}-${width}`);
      }
    }
    await page.setViewportSize({ width: 1440, height: 960 });
  });

  it('pauses refreshing while the tab is hidden and resumes when it is shown', async () => {
    await openSection('Overview');
    const calls: string[] = [];
    page.on('request', (request) => {
      if (request.url().includes('/v1/')) calls.push(request.url());
    });
    // What the browser does when the operator switches tabs (page code runs in the browser; this file has no DOM types).
    const setHidden = (hidden: boolean) =>
      page.evaluate(`
        Object.defineProperty(document, 'hidden', { configurable: true, get: () => ${hidden} });
        Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => '${hidden ? 'hidden' : 'visible'}' });
        document.dispatchEvent(new Event('visibilitychange'));`);
    await setHidden(true);
    await pageShows('#updated', /^Paused while the tab is hidden$/, 'paused');
    const before = calls.length;
    // Three refresh periods with the tab hidden: nothing may be fetched.
    await new Promise((resolve) => setTimeout(resolve, 5000));
    assert.equal(calls.length, before, `no API call while hidden: ${calls.slice(before).join(', ')}`);
    await setHidden(false);
    await pageShows('#updated', /^Updated .* · live every 2 s$/, 'live again');
    await eventually(() => assert.ok(calls.length >= before + 2, 'refreshing again'), { timeoutMs: 10_000 });
  });

  it('overview while merge-service is killed under a steady ingest: projection lag and oldest-pending age rise without a reload, and lag is 0 again after it restarts', async () => {
    await openSection('Overview');
    await pageShows('[data-tile="Projection lag"] .tile-value', /^0 msgs$/, 'the projection caught up before the stop');
    // A mark in the document: still there at the end, so nothing below reloaded the page.
    await page.evaluate("window.lagWatch = 'same document'");
    /** The overview's lag figures, read at one instant together with the refresh that drew them. */
    const lagShown = async () => {
      const shown = (await page.evaluate(`({
        updated: document.querySelector('#updated')?.textContent ?? '',
        lag: document.querySelector('[data-tile="Projection lag"] .tile-value')?.textContent ?? '',
        lagNote: document.querySelector('[data-tile="Projection lag"] .tile-note')?.textContent ?? '',
        lagKind: document.querySelector('[data-tile="Projection lag"]')?.className ?? '',
        pending: document.querySelector('[data-tile="Oldest pending"] .tile-value')?.textContent ?? '',
      })`)) as { updated: string; lag: string; lagNote: string; lagKind: string; pending: string };
      const messages = /^[0-9,]+ msgs$/.test(shown.lag) ? Number(shown.lag.replace(/[^0-9]/g, '')) : NaN;
      return { ...shown, messages, lagSeconds: secondsShown(shown.lagNote.replace(/^oldest /, '')), pendingSeconds: secondsShown(shown.pending) };
    };
    type Shown = Awaited<ReturnType<typeof lagShown>>;

    const scanner = new FakeDevice('dock-scanner', T0 + 10_000, 1000);
    creds.set(scanner.deviceId, await stack.device('acme', scanner.deviceId, 'dock'));
    let restarted = false;
    await stack.services.get('merge-service')!.kill();
    // The steady ingest: five events every 200 ms until merge-service is back and caught up.
    const ingest = steadyIngest(
      (events) => send(scanner, events),
      (i) => scanner.upsert('annotation', `scan-${i}`, { label: 'crate' }),
    );
    /** Waits for a refresh after `previous` showing more messages behind and older ages (the first: any backlog). */
    const risesFrom = async (previous: Shown | undefined, what: string): Promise<Shown> => {
      const shown = await eventually(
        async () => {
          ingest.check();
          const now = await lagShown();
          const seen = `the page shows ${JSON.stringify(now)}${previous ? ` after ${JSON.stringify(previous)}` : ''}`;
          if (previous) {
            assert.notEqual(now.updated, previous.updated, `a later refresh: ${seen}`);
            assert.ok(now.messages > previous.messages && now.lagSeconds > previous.lagSeconds && now.pendingSeconds > previous.pendingSeconds, seen);
          } else {
            assert.ok(now.messages > 0 && now.lagSeconds > 0 && now.pendingSeconds > 0, seen);
          }
          return now;
        },
        { timeoutMs: 15_000, intervalMs: 200, message: what },
      );
      assert.ok(shown.messages <= ingest.sent(), `no more behind than was pushed: ${shown.messages} of ${ingest.sent()}`);
      assert.match(shown.lagKind, /\bwarn\b/, 'the projection lag tile warns');
      return shown;
    };
    try {
      await pageShows('tr[data-key="merge-service"] td[data-col="Readiness"]', /^no answer$/, 'merge-service not answering');
      await pageShows('[data-tile="Services ready"] .tile-value', /^1 not ready$/, 'one service not ready');
      const first = await risesFrom(undefined, 'a backlog on the overview');
      const second = await risesFrom(first, 'lag and ages rising at the next refresh');
      const third = await risesFrom(second, 'lag and ages rising again');
      assert.ok(third.pendingSeconds >= first.pendingSeconds + 1, `oldest pending ${first.pending} then ${third.pending}`);
      await shoot('overview-merge-down');

      await stack.start('merge-service');
      restarted = true;
      // Still under the ingest, the projection catches up: the page shows less behind than at its highest.
      await pageShows(
        '[data-tile="Projection lag"] .tile-value',
        (t) => /^[0-9,]+ msgs$/.test(t) && Number(t.replace(/[^0-9]/g, '')) < third.messages,
        `lag falling below ${third.lag} while the ingest goes on`,
      );
    } finally {
      await ingest.stop().finally(async () => {
        if (!restarted) await stack.start('merge-service');
      });
    }

    await pageShows('[data-tile="Projection lag"] .tile-value', /^0 msgs$/, 'no lag once merge-service caught up', 30_000);
    await pageShows('[data-tile="Projection lag"] .tile-note', /^oldest 0\.0 s$/, 'nothing old behind');
    await pageShows('[data-tile="Oldest pending"] .tile-value', /^0\.0 s$/, 'no consumer with anything pending');
    await pageShows('tr[data-key="merge-service"] td[data-col="Readiness"]', /^ready$/, 'merge-service ready again');
    await pageShows('[data-tile="Services ready"] .tile-value', /^all ready$/, 'all services ready');
    assert.doesNotMatch((await lagShown()).lagKind, /\bwarn\b/);
    assert.equal(await page.evaluate('window.lagWatch'), 'same document', 'the page was never reloaded');
    await shoot('overview-caught-up');
    assert.equal(
      await count(stack.db, 'SELECT count(*) AS n FROM event_receipts WHERE event_id = ANY($1::uuid[])', [ingest.eventIds()]),
      ingest.eventIds().length,
      'one receipt for every event of the ingest',
    );
  });

  it('sign out forgets the token', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    assert.equal(await page.evaluate("sessionStorage.getItem('tidemark.operatorToken')"), null);
    await page.reload();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    assert.equal(await page.locator('#page').isHidden(), true);
  });

  it('a token revoked while signed in: the next refresh shows the sign-in form with the reason', async () => {
    const minted = await fetch(`${stack.url('gateway')}/v1/admin/operator-tokens`, {
      method: 'POST',
      headers: { ...stack.operatorHeaders, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'night-shift', roles: ['ops'], reason: 'the night shift watches the dashboard' }),
    });
    assert.equal(minted.status, 201);
    const { token, tokenId } = (await minted.json()) as { token: string; tokenId: string };
    await page.getByLabel('Operator token').fill(token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await pageShows('[data-tile="Services ready"]', /all ready/, 'the overview with the ops role alone');

    const revoked = await fetch(`${stack.url('gateway')}/v1/admin/operator-tokens/${tokenId}/revoke`, {
      method: 'POST',
      headers: { ...stack.operatorHeaders, 'content-type': 'application/json' },
      body: JSON.stringify({ reason: 'shift over' }),
    });
    assert.equal(revoked.status, 200);
    await page.getByRole('heading', { name: 'Sign in' }).waitFor({ timeout: 10_000 });
    await pageShows('#signin-error', /^Sign-in refused.*Unauthorized \(401\): this operator token has been revoked$/, 'why');
    assert.equal(await page.evaluate("sessionStorage.getItem('tidemark.operatorToken')"), null);
  });

  it('kept a screenshot of every page, reached nothing but ops-api, and logged no script errors', () => {
    assert.deepEqual(
      screenshots.map((p) => p.split('/').at(-1)),
      [
        'signin-refused.png',
        'overview.png',
        'streams.png',
        'devices.png',
        'parked.png',
        'parked-redriven.png',
        'parked-edit-refused.png',
        'conflicts.png',
        'conflicts-resolved.png',
        'replay-building.png',
        'replay-built.png',
        'replays.png',
        'assets.png',
        'conflicts-paged.png',
        'audit-conflicts.png',
        ...[1366, 800].flatMap((width) => ['overview', 'streams', 'devices', 'scopes', 'parked', 'conflicts', 'replays', 'assets', 'queues', 'audit'].map((name) => `${name}-${width}.png`)),
        'overview-merge-down.png',
        'overview-caught-up.png',
      ],
    );
    for (const path of screenshots) assert.ok(statSync(path).size > 10_000, `${path} is a real screenshot`);
    assert.deepEqual(outside, [], 'no request beyond ops-api');
    assert.deepEqual(pageErrors, []);
    // Chromium reports each refused call as a failed load: the refused sign-ins (401, 403, and the revoked token's
    // refresh), the refused edit (422), the refused replay request and workspace filter (400).
    const refused = consoleErrors.map((m) => /^Failed to load resource: the server responded with a status of (\d{3}) /.exec(m)?.[1] ?? m);
    assert.deepEqual([...new Set(refused)].sort(), ['400', '401', '403', '422']);
  });
});
