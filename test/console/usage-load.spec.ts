/**
 * First load of "My usage" and of the call log for a member with a large call log: 100,000
 * model_calls rows inserted by SQL over the last 90 days (as bench/model-calls-bench.mjs generates
 * rows), then a fresh page (empty cache, session cookie only) opens /console/usage. Prints the
 * figures (time from navigation to the data shown, bytes and requests of the console's files);
 * asserts only what the screens show (the same totals as the API), never a duration.
 */
import { Client } from 'pg';
import { expect, screenshot, test } from './support/fixtures';
import { callApi, loginToken } from './support/stack';

/** The page's document, typed for the predicates below (the root tsconfig has no DOM types). */
type PageGlobal = { document: { querySelector(s: string): { textContent: string | null } | null } };

// waitForFunction's polling evaluates its predicate with eval(), which the console's CSP refuses
// (no 'unsafe-eval'): this measuring spec alone lets the browser ignore the CSP
test.use({ bypassCSP: true });

const ROWS = Number(process.env.CONSOLE_LOAD_ROWS ?? 100_000);
const PASSWORD = 'large log member password';

test('My usage and the call log with 100,000 calls: first load', async ({ page, stack }) => {
  test.setTimeout(300_000);
  const admin = await loginToken(stack.apiUrl, stack.opsAdmin.email, stack.opsAdmin.password);
  const email = `large-log-${Date.now()}@console.test`;
  const { user } = await callApi<{ user: { id: string; did: string } }>(stack.apiUrl, 'POST', '/admin/users', {
    token: admin,
    body: { email, fullName: 'Large Log', password: PASSWORD },
  });

  const db = new Client({ connectionString: stack.databaseUrl });
  await db.connect();
  const s0 = Date.now();
  try {
    const { rows } = await db.query<{ id: string }>(`SELECT id FROM ai_providers WHERE name = 'devup'`);
    await db.query(
      `INSERT INTO model_calls (id, user_id, provider_id, model, type, status, stream, prompt_tokens, completion_tokens, total_tokens,
         usage_source, credits, duration_ms, app_did, request_id, upstream_status, error_code, created_at)
       SELECT gen_random_uuid(), $1::uuid, $2::uuid, (ARRAY['mock-model','gpt-4o-mini','claude-haiku','mock-embed'])[1 + (i % 4)],
         (CASE WHEN i % 4 = 3 THEN 'embedding' ELSE 'chatCompletion' END)::"ModelType",
         (CASE WHEN i % 20 = 0 THEN 'failed' ELSE 'success' END)::"ModelCallStatus", i % 3 = 0,
         20 + (i % 900), CASE WHEN i % 4 = 3 THEN 0 ELSE i % 400 END, 20 + (i % 900) + CASE WHEN i % 4 = 3 THEN 0 ELSE i % 400 END,
         'upstream', CASE WHEN i % 20 = 0 THEN 0 ELSE round(((20 + (i % 900)) * 0.15 + (i % 400) * 0.6) / 1000, 10) END,
         50 + (i % 3000), NULL, 'load-' || i, CASE WHEN i % 20 = 0 THEN 502 ELSE 200 END,
         CASE WHEN i % 20 = 0 THEN 'upstream_error' END, now() - random() * interval '90 days'
       FROM generate_series(1, $3::int) i`,
      [user.id, rows[0].id, ROWS],
    );
    await db.query('ANALYZE model_calls');
  } finally {
    await db.end();
  }
  console.log(`[usage-load] inserted ${ROWS.toLocaleString()} calls in ${((Date.now() - s0) / 1000).toFixed(1)} s`);

  const token = await loginToken(stack.apiUrl, email, PASSWORD);
  const endTime = Math.ceil(Date.now() / 3_600_000) * 3600;
  const a0 = Date.now();
  const stats = await callApi<{ summary: { totalCalls: number } }>(
    stack.apiUrl,
    'GET',
    `/user/usage-stats?startTime=${endTime - 30 * 86_400}&endTime=${endTime}`,
    { token },
  );
  const statsMs = Date.now() - a0;
  const list = await callApi<{ count: number }>(
    stack.apiUrl,
    'GET',
    `/user/model-calls?pageSize=1&startTime=${endTime - 7 * 86_400}&endTime=${endTime}`,
    {
      token,
    },
  );

  // the session cookie only (a fresh context: empty cache), as a returning user opening a bookmark
  const login = await page.request.post('/auth/login', { data: { login: email, password: PASSWORD } });
  expect(login.status()).toBe(200);
  let bytes = 0;
  let files = 0;
  page.on('response', (res) => {
    if (new URL(res.url()).pathname.startsWith('/console')) {
      files += 1;
      bytes += Number(res.headers()['content-length'] ?? 0);
    }
  });

  const finished: Array<{ path: string; at: number }> = [];
  page.on('requestfinished', (r) => finished.push({ path: new URL(r.url()).pathname, at: Date.now() }));
  const t0 = Date.now();
  await page.goto('/console/usage');
  // polled on every animation frame (expect's back-off would blur the figure by up to a second)
  const calls = stats.summary.totalCalls.toLocaleString('en-US');
  await page.waitForFunction(
    (expected) => (globalThis as unknown as PageGlobal).document.querySelector('[data-testid="stat-calls"]')?.textContent === expected,
    calls,
    { polling: 'raf', timeout: 60_000 },
  );
  const figuresMs = Date.now() - t0;
  await page.waitForFunction(`!!document.querySelector('[aria-label="Calls per day"] canvas')`, undefined, {
    polling: 'raf',
    timeout: 60_000,
  });
  const usageMs = Date.now() - t0;
  await expect(page.getByTestId('stat-calls')).toHaveText(calls);
  const timeline = finished.filter((f) => f.at - t0 <= figuresMs).map((f) => `${f.path.replace(/^\/console\/assets\//, '')} +${f.at - t0}`);
  // (an expression as a string: the root tsconfig has no DOM types)
  const nav = await page.evaluate<{ domContentLoaded: number; load: number }>(
    `(() => { const n = performance.getEntriesByType('navigation')[0];
      return { domContentLoaded: Math.round(n.domContentLoadedEventEnd), load: Math.round(n.loadEventEnd) }; })()`,
  );
  await screenshot(page, 'usage-100k-1280');

  const t1 = Date.now();
  await page.getByRole('link', { name: 'Call log' }).click();
  await expect(page.getByTestId('call-count')).toHaveText(`${list.count.toLocaleString('en-US')} calls`, { timeout: 60_000 });
  const callsMs = Date.now() - t1;
  await page.getByRole('button', { name: '2', exact: true }).click();
  await expect(page).toHaveURL(/page=2/);
  await expect(page.getByTestId('call-row')).toHaveCount(50);

  console.log(
    `[usage-load] My usage first load: navigation → figures shown ${figuresMs} ms, → charts drawn ${usageMs} ms; ` +
      `DOMContentLoaded ${nav.domContentLoaded} ms, load ${nav.load} ms; console files: ${files}, ${(bytes / 1024).toFixed(1)} kB transferred (gzip)`,
  );
  console.log(`[usage-load] requests finished before the figures (ms after navigation): ${timeline.join(', ')}`);
  console.log(`[usage-load] for comparison, GET /user/usage-stats (30 days) alone from Node: ${statsMs} ms`);
  console.log(`[usage-load] call log (7 days, ${list.count.toLocaleString()} calls) after a click: ${callsMs} ms`);
});
