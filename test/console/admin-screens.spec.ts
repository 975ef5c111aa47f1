/**
 * Every admin screen renders its data without an error (screenshots of each at 1280 px, a few at
 * phone width where tables must scroll sideways), and an admin viewer gets no write control.
 */
import type { Download, Page } from '@playwright/test';
import { expect, test } from './support/fixtures';
import { api, loginInBrowser, loginToken, uniqueTag } from './admin-support/admin-api';
import { adminCredentials, apiUrl } from './admin-support/stack';
import { readStack } from './support/stack';

interface Created {
  user: { id: string; did: string; email: string };
}

const tag = uniqueTag();
const viewer = { login: `viewer-${tag}@example.com`, password: `Viewer-pass-${tag}` };
let memberId = '';
let providerId = '';
let teamId = '';
let devupId = '';

test.beforeAll(async () => {
  const baseURL = apiUrl();
  const token = await loginToken(baseURL, adminCredentials());
  const call = <T>(method: string, path: string, body?: unknown, headers?: Record<string, string>) =>
    api<T>(baseURL, token, method, path, body, headers);
  const team = await call<{ id: string }>('POST', '/admin/teams', { name: `Screens ${tag}`, allowedModels: ['*'] });
  teamId = team.id;
  const member = await call<Created>('POST', '/admin/users', {
    email: `member-${tag}@example.com`,
    fullName: 'Mia Member',
    teamId: team.id,
    password: `Member-pass-${tag}`,
    allowedModels: ['gpt-4o', 'mock-model'],
  });
  memberId = member.user.id;
  await call('POST', '/admin/users', { email: `other-${tag}@example.com`, fullName: 'Otto Other', teamId: team.id });
  await call('POST', '/admin/users', { email: viewer.login, fullName: 'Vic Viewer', role: 'admin_viewer', password: viewer.password });
  await call(
    'POST',
    '/admin/credits/grants',
    { userDid: member.user.did, amount: '250', reason: 'Screens test' },
    { 'idempotency-key': `screens-${tag}` },
  );
  const key = await call<{ secret: string }>('POST', `/admin/users/${memberId}/keys`, { name: 'laptop', creditBudget: '50' });

  // a provider of our own (no credential: its health shows "no credentials") with two rates
  const provider = await call<{ id: string }>('POST', '/ai-providers', {
    name: `screens-${tag}`,
    displayName: `Screens ${tag}`,
    baseUrl: 'http://127.0.0.1:9/v1',
  });
  providerId = provider.id;
  await call('POST', `/ai-providers/${providerId}/model-rates`, {
    model: 'mock-model',
    inputRate: '0.002',
    outputRate: '0.006',
    unitCosts: { input: '0.0000025', output: '0.00001' },
  });
  await call('POST', `/ai-providers/${providerId}/model-rates`, {
    model: `embed-${tag}`,
    type: 'embedding',
    inputRate: '0.0001',
    outputRate: '0',
  });
  // the seed's provider "devup" (the dev upstream, with a validated credential) serves a few calls of
  // our member, for the usage figures and chart
  const providers = await call<Array<{ id: string; name: string }>>('GET', '/ai-providers');
  devupId = providers.find((p) => p.name === 'devup')!.id;
  for (let i = 0; i < 3; i++) {
    const res = await fetch(new URL('/v1/chat/completions', baseURL), {
      method: 'POST',
      headers: { authorization: `Bearer ${key.secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        model: `devup/${readStack().chatModel}`,
        max_tokens: 16,
        messages: [{ role: 'user', content: `hello ${i}` }],
      }),
    });
    const text = await res.text();
    expect(res.status, text).toBe(200);
  }
});

/** The text of a download. */
async function readDownload(download: Download): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of await download.createReadStream()) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Waits for the screen's heading and for every loader to finish; fails on an error alert. */
async function settle(page: Page, heading: string | RegExp) {
  await expect(page.getByRole('heading', { level: 1, name: heading })).toBeVisible();
  await expect(page.getByRole('status', { name: /loading/i })).toHaveCount(0);
  await expect(page.getByLabel('Loading')).toHaveCount(0);
  await expect(page.getByRole('alert')).toHaveCount(0);
}

const SCREENS: Array<{ name: string; path: () => string; heading: string | RegExp; check?: (page: Page) => Promise<void> }> = [
  {
    name: 'users',
    path: () => '/console/admin/users',
    heading: 'Users',
    check: async (page) => {
      await page.getByLabel('Search').fill(tag);
      await expect(page.getByTestId('user-row')).toHaveCount(3);
      // the CSV export (through its endpoint, with the role filter) holds our member, never a secret
      await page.getByRole('combobox', { name: 'Role' }).click();
      await page.getByRole('option', { name: 'member', exact: true }).click();
      await page.getByRole('button', { name: 'Export CSV' }).click();
      const download = page.waitForEvent('download');
      await page.getByRole('menuitem', { name: 'Users with their keys (no secrets)' }).click();
      const csv = await readDownload(await download);
      expect(csv.split('\n')[0]).toBe(
        'email,role,team_name,status,created_at,key_name,key_prefix,key_created_at,key_expires_at,key_revoked',
      );
      expect(csv).toMatch(new RegExp(`^member-${tag}@example.com,member,Screens ${tag},active,.*,laptop,tg-`, 'm'));
      expect(csv).not.toContain(`viewer-${tag}@example.com`);
    },
  },
  {
    name: 'user-detail',
    path: () => `/console/admin/users/${memberId}`,
    heading: `member-${tag}@example.com`,
    check: async (page) => {
      await expect(
        page
          .getByText('250.00 CR')
          .or(page.getByText(/^2\d\d\.\d\d CR$/))
          .first(),
      ).toBeVisible();
    },
  },
  {
    name: 'user-keys',
    path: () => `/console/admin/users/${memberId}/keys`,
    heading: `member-${tag}@example.com`,
    check: async (page) => {
      await expect(page.getByRole('table', { name: 'Keys' })).toContainText('laptop');
    },
  },
  { name: 'users-import', path: () => '/console/admin/users/import', heading: 'Import users from CSV' },
  {
    name: 'teams',
    path: () => '/console/admin/teams',
    heading: 'Teams',
    check: async (page) => {
      await expect(page.getByRole('link', { name: `Screens ${tag}` })).toBeVisible();
    },
  },
  {
    name: 'team-detail',
    path: () => `/console/admin/teams/${teamId}`,
    heading: `Screens ${tag}`,
    check: async (page) => {
      await expect(page.getByRole('table', { name: 'Members' })).toContainText(`member-${tag}@example.com`);
    },
  },
  {
    name: 'providers',
    path: () => '/console/admin/providers',
    heading: 'Providers',
    check: async (page) => {
      await expect(page.getByRole('link', { name: `screens-${tag}` })).toBeVisible();
      await expect(page.getByRole('link', { name: 'devup' })).toBeVisible();
    },
  },
  {
    name: 'provider-detail',
    path: () => `/console/admin/providers/${devupId}`,
    heading: 'Dev Upstream (bundled)',
    check: async (page) => {
      await expect(page.getByRole('table', { name: 'Model rates' })).toContainText('mock-model');
      await expect(page.getByTestId('credential-health').first()).toHaveText('running');
      // a live check of the credential against the dev upstream
      await page.getByRole('button', { name: 'Check' }).first().click();
      await expect(page.getByRole('table', { name: 'Credentials' })).toContainText(/valid \(HTTP 200\)/);
      // a new credential is validated live: a key the upstream refuses is not stored
      await page.getByRole('button', { name: 'Add credential' }).click();
      const dialog = page.getByRole('dialog', { name: 'Add credential' });
      await dialog.getByRole('textbox', { name: 'Name' }).fill(`wrong-${tag}`);
      await dialog.getByLabel('API key').fill('sk-not-the-upstream-key');
      await dialog.getByRole('button', { name: 'Validate and add' }).click();
      await expect(dialog.getByRole('alert')).toContainText('The provider refused this key (HTTP 401)');
      await expect(dialog.getByRole('alert')).toContainText('invalid_credential');
      await page.screenshot({ path: 'test/console/screenshots/admin-credential-refused.png', fullPage: true });
      await dialog.getByRole('button', { name: 'Cancel' }).click();
      await expect(page.getByRole('table', { name: 'Credentials' })).not.toContainText(`wrong-${tag}`);
    },
  },
  {
    name: 'rates',
    path: () => '/console/admin/rates',
    heading: 'Model rates',
    check: async (page) => {
      // the model tests run as worker jobs; the screen follows them until every model was checked
      await page.getByRole('button', { name: 'Test all models' }).click();
      const progress = page.getByTestId('test-models-progress');
      await expect(progress).toContainText('checks queued');
      await expect(progress).toContainText(/Checked ([1-9]\d*) of \1\b/, { timeout: 60_000 });
      // models of providers without a credential are down; the seed's dev upstream model answers
      const down = progress.getByTestId('test-models-down');
      await expect(down).toContainText(`screens-${tag}/mock-model`);
      await expect(down).not.toContainText('devup/');
    },
  },
  { name: 'rate-history', path: () => '/console/admin/rates/history', heading: 'Rate history' },
  {
    name: 'health',
    path: () => '/console/admin/health',
    heading: 'Provider health',
    check: async (page) => {
      await expect(page.getByTestId('health-card').filter({ hasText: 'devup' })).toContainText('running');
      await expect(page.getByTestId('health-card').filter({ hasText: `screens-${tag}` })).toContainText('no credentials');
      await expect(page.getByRole('row').filter({ hasText: 'devup/mock-model' })).toContainText('operational');
    },
  },
  { name: 'credits', path: () => '/console/admin/credits', heading: 'Credits & usage' },
  {
    name: 'audit',
    path: () => '/console/admin/audit',
    heading: 'Audit log',
    check: async (page) => {
      await page.getByRole('textbox', { name: 'Action' }).fill('credits.*');
      await page.getByRole('button', { name: 'Apply filters' }).click();
      const row = page.getByTestId('audit-row').filter({ hasText: 'credits.grant' }).first();
      await expect(row).toBeVisible();
      await row.getByRole('button').first().click();
      const detail = page.getByTestId('audit-detail');
      await expect(detail).toContainText('Screens test');
      await expect(detail).toContainText(`screens-${tag}`);
      await page.keyboard.press('Escape');
      // the export has the filtered entries only
      const download = page.waitForEvent('download');
      await page.getByRole('button', { name: 'Export CSV' }).click();
      const csv = await readDownload(await download);
      const lines = csv.trim().split('\n');
      expect(lines[0]).toBe(
        'Timestamp,ID,Actor Type,Actor User ID,Actor Key ID,Actor,Actor Role,Action,Target Type,Target ID,Result,Status,Request ID,IP,User Agent,Method,Path,Changes',
      );
      expect(lines.length).toBeGreaterThan(1);
      for (const line of lines.slice(1)) expect(line).toContain(',credits.grant');
      expect(csv).toContain(`screens-${tag}`);
    },
  },
];

test.describe('at 1280 px', () => {
  test.use({ viewport: { width: 1280, height: 800 } });
  for (const s of SCREENS) {
    test(`${s.name} renders`, async ({ page }) => {
      await loginInBrowser(page, adminCredentials());
      await page.goto(s.path());
      await settle(page, s.heading);
      if (s.check) await s.check(page);
      await page.screenshot({ path: `test/console/screenshots/admin-${s.name}.png`, fullPage: true });
    });
  }
});

test.describe('at 390 px', () => {
  test.use({ viewport: { width: 390, height: 844 } });
  for (const name of ['users', 'rates', 'audit']) {
    test(`${name}: tables scroll sideways`, async ({ page }) => {
      const s = SCREENS.find((x) => x.name === name)!;
      await loginInBrowser(page, adminCredentials());
      await page.goto(s.path());
      await settle(page, s.heading);
      const table = page.getByRole('table').first();
      await expect(table).toBeVisible();
      // the table is wider than the phone; its container scrolls, the page does not
      const sizes = await table.evaluate((el) => {
        // runs in the page; typed loosely since the test project has no DOM types
        interface Box {
          parentElement: Box | null;
          scrollWidth: number;
          clientWidth: number;
        }
        const w = globalThis as unknown as { getComputedStyle(e: Box): { overflowX: string }; document: { documentElement: Box } };
        const scrolls = (b: Box) => ['auto', 'scroll'].includes(w.getComputedStyle(b).overflowX);
        const table = el as unknown as Box;
        let box = table.parentElement;
        while (box && !scrolls(box)) box = box.parentElement;
        return { table: table.scrollWidth, box: box?.clientWidth ?? 0, page: w.document.documentElement.scrollWidth };
      });
      expect(sizes.box).toBeGreaterThan(0);
      expect(sizes.table).toBeGreaterThan(sizes.box);
      expect(sizes.page).toBeLessThanOrEqual(390);
      await page.screenshot({ path: `test/console/screenshots/admin-${name}-390.png`, fullPage: true });
    });
  }
});

test('an admin viewer reads every admin screen but gets no write control', async ({ page }) => {
  await loginInBrowser(page, viewer);
  await page.goto('/console/admin/users');
  await settle(page, 'Users');
  await expect(page.getByTestId('user-row').first()).toBeVisible();
  await expect(page.getByRole('button', { name: 'New user' })).toHaveCount(0);
  await expect(page.getByRole('button', { name: 'Import CSV' })).toHaveCount(0);
  await expect(page.getByRole('checkbox')).toHaveCount(0);
  await expect(page.getByRole('button', { name: 'Export CSV' })).toBeVisible();

  await page.goto(`/console/admin/users/${memberId}`);
  await settle(page, `member-${tag}@example.com`);
  for (const name of ['Save', 'Disable', 'Reset password', 'Delete']) await expect(page.getByRole('button', { name })).toHaveCount(0);
  await expect(page.getByRole('textbox', { name: 'Email' })).toHaveAttribute('readonly', '');

  await page.goto(`/console/admin/users/${memberId}/keys`);
  await expect(page.getByRole('table', { name: 'Keys' })).toContainText('laptop');
  for (const name of ['New key', 'Revoke', 'Rotate']) await expect(page.getByRole('button', { name })).toHaveCount(0);

  await page.goto('/console/admin/rates');
  await settle(page, 'Model rates');
  await expect(page.getByTestId('bulk-rate-update')).toHaveCount(0);
  await expect(page.getByRole('button', { name: 'Test all models' })).toHaveCount(0);

  await page.goto(`/console/admin/providers/${devupId}`);
  await settle(page, 'Dev Upstream (bundled)');
  await expect(page.getByTestId('credential-health').first()).toBeVisible();
  for (const name of ['Edit', 'Delete', 'Add credential', 'Add model rate', 'Check'])
    await expect(page.getByRole('button', { name })).toHaveCount(0);

  await page.goto('/console/admin/credits');
  await settle(page, 'Credits & usage');
  await expect(page.getByRole('button', { name: 'Grant' })).toHaveCount(0);

  await page.goto('/console/admin/teams');
  await settle(page, 'Teams');
  await expect(page.getByRole('button', { name: 'New team' })).toHaveCount(0);

  await page.goto('/console/admin/audit');
  await settle(page, 'Audit log');
  await expect(page.getByTestId('audit-row').first()).toBeVisible();
  await page.screenshot({ path: 'test/console/screenshots/admin-viewer-audit.png', fullPage: true });
});
