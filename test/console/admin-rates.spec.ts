/**
 * An admin runs the bulk rate update in the console: the preview shows old → new rates computed
 * with the documented formula (unit cost × (1 + margin/100) / credit price), rates without unit
 * costs are skipped, applying changes the rates, and the rate list and history show the new ones.
 */
import { expect, test } from './support/fixtures';
import { api, loginInBrowser, loginToken, uniqueTag } from './admin-support/admin-api';
import { adminCredentials, apiUrl } from './admin-support/stack';

/** Every rate of the stack before the test: the bulk update changes all rates with unit costs, the seed's too. */
let original: RateWithProvider[] = [];

test.beforeAll(async () => {
  const token = await loginToken(apiUrl(), adminCredentials());
  original = (await api<{ list: RateWithProvider[] }>(apiUrl(), token, 'GET', '/ai-providers/model-rates?pageSize=100')).list;
});

// put the other tests' rates back as they were (the seed's priced mock-model included)
test.afterAll(async () => {
  const token = await loginToken(apiUrl(), adminCredentials());
  const now = (await api<{ list: RateWithProvider[] }>(apiUrl(), token, 'GET', '/ai-providers/model-rates?pageSize=100')).list;
  for (const before of original) {
    const after = now.find((r) => r.id === before.id);
    if (!after || (after.inputRate === before.inputRate && after.outputRate === before.outputRate)) continue;
    await api(apiUrl(), token, 'PUT', `/ai-providers/${before.providerId}/model-rates/${before.id}`, {
      inputRate: String(before.inputRate),
      outputRate: String(before.outputRate),
      reason: 'restored after the console bulk-update test',
    });
  }
});

interface RateWithProvider {
  id: string;
  providerId: string;
  model: string;
  inputRate: number;
  outputRate: number;
}

interface Rate {
  id: string;
  model: string;
  inputRate: number;
  outputRate: number;
}

test('bulk rate update: preview of old → new rates, apply, new rates listed', async ({ page, baseURL }) => {
  const creds = adminCredentials();
  const token = await loginToken(baseURL!, creds);
  const tag = uniqueTag();
  const provider = await api<{ id: string }>(baseURL!, token, 'POST', '/ai-providers', {
    name: `rates-${tag}`,
    displayName: `Rates ${tag}`,
    baseUrl: 'http://127.0.0.1:9/v1',
  });
  const rates = `/ai-providers/${provider.id}/model-rates`;
  const a = `rt-${tag}-a`;
  const b = `rt-${tag}-b`;
  const c = `rt-${tag}-c`;
  await api(baseURL!, token, 'POST', rates, {
    model: a,
    inputRate: '0.001',
    outputRate: '0.003',
    unitCosts: { input: '0.000004', output: '0.000012' },
  });
  await api(baseURL!, token, 'POST', rates, {
    model: b,
    inputRate: '0.0004',
    outputRate: '0.0008',
    unitCosts: { input: '0.000001', output: '0.000002' },
  });
  await api(baseURL!, token, 'POST', rates, { model: c, inputRate: '0.5', outputRate: '0.5' });

  await loginInBrowser(page, creds);
  await page.goto('/console/admin/rates');
  const bulk = page.getByTestId('bulk-rate-update');
  await expect(bulk).toBeVisible();
  await bulk.getByLabel('Profit margin (%)').fill('25');
  await bulk.getByLabel('Credit price (USD per credit)').fill('0.002');
  await bulk.getByLabel('Reason (optional)').fill(`console test ${tag}`);
  await bulk.getByRole('button', { name: 'Preview' }).click();

  // 0.000004 × 1.25 / 0.002 = 0.0025; 0.000012 × 1.25 / 0.002 = 0.0075; 0.000001 → 0.000625; 0.000002 → 0.00125
  const preview = page.getByTestId('rate-preview');
  await expect(preview).toBeVisible();
  const rowA = preview.getByTestId('preview-rate-row').filter({ hasText: a });
  await expect(rowA).toContainText('0.001 → 0.0025');
  await expect(rowA).toContainText('0.003 → 0.0075');
  const rowB = preview.getByTestId('preview-rate-row').filter({ hasText: b });
  await expect(rowB).toContainText('0.0004 → 0.000625');
  await expect(rowB).toContainText('0.0008 → 0.00125');
  await expect(preview.getByTestId('preview-rate-row').filter({ hasText: c })).toContainText('skipped: unit costs unknown');
  await page.screenshot({ path: 'test/console/screenshots/admin-rates-preview.png', fullPage: true });

  // nothing changed by the preview
  const before = await api<Rate[]>(baseURL!, token, 'GET', rates);
  expect(before.find((r) => r.model === a)?.inputRate).toBe(0.001);

  await preview.getByRole('button', { name: /^Apply to \d+ rates$/ }).click();
  const dialog = page.getByRole('dialog', { name: 'Apply the bulk rate update' });
  await expect(dialog).toContainText('25% margin and 0.002 USD per credit');
  await dialog.getByRole('button', { name: 'Apply' }).click();
  const applied = page.getByTestId('bulk-applied');
  await expect(applied).toBeVisible();
  await expect(applied.getByRole('row').filter({ hasText: a })).toContainText('0.0025');
  await expect(preview).toHaveCount(0);

  // the rate list shows the new rates; the rate without unit costs kept its own
  await page.getByRole('textbox', { name: 'Model', exact: true }).fill(`rt-${tag}`);
  const rows = page.getByTestId('rate-row');
  await expect(rows).toHaveCount(3);
  await expect(rows.filter({ hasText: a }).getByTestId('rate-input')).toHaveText('0.0025');
  await expect(rows.filter({ hasText: a }).getByTestId('rate-output')).toHaveText('0.0075');
  await expect(rows.filter({ hasText: b }).getByTestId('rate-input')).toHaveText('0.000625');
  await expect(rows.filter({ hasText: b }).getByTestId('rate-output')).toHaveText('0.00125');
  await expect(rows.filter({ hasText: c }).getByTestId('rate-input')).toHaveText('0.5');
  await page.screenshot({ path: 'test/console/screenshots/admin-rates-applied.png', fullPage: true });

  const after = await api<Rate[]>(baseURL!, token, 'GET', rates);
  expect(after.map((r) => [r.model, r.inputRate, r.outputRate])).toEqual([
    [a, 0.0025, 0.0075],
    [b, 0.000625, 0.00125],
    [c, 0.5, 0.5],
  ]);

  // the history names the bulk update with its reason
  await page.getByRole('tab', { name: 'Rate history' }).click();
  await expect(page).toHaveURL(/\/console\/admin\/rates\/history$/);
  await page.getByLabel('Model (exact name)').fill(a);
  const history = page.getByRole('row').filter({ hasText: 'bulk-rate-update' });
  await expect(history).toHaveCount(1);
  await expect(history).toContainText('0.001 → 0.0025');
  await expect(history).toContainText(`console test ${tag}`);
});
