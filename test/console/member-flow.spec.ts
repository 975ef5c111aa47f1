/**
 * (b) A member created through the admin API logs in, creates a key in "My keys", calls the
 * gateway with it through the official `openai` SDK, and sees the call and its charge on
 * "My usage", in the call log and in the credits ledger. Screenshots of every user screen at
 * 1280 px and at phone width (390 px).
 * (c) The same member cannot open the admin screens (the console shows "Not allowed"), and the api
 * refuses an admin endpoint even when the page calls it directly (403).
 */
import OpenAI from 'openai';
import type { Page } from '@playwright/test';
import { expect, loginUi, screenshot, test } from './support/fixtures';
import { callApi, loginToken, type StackInfo } from './support/stack';

const MEMBER_PASSWORD = 'member password for the console';

/** A new member with 100 credits, created and granted through the admin API (ops admin's JWT). */
async function createMember(stack: StackInfo, label: string): Promise<{ email: string; did: string }> {
  const token = await loginToken(stack.apiUrl, stack.opsAdmin.email, stack.opsAdmin.password);
  const email = `${label}-${Date.now()}@console.test`;
  const { user } = await callApi<{ user: { id: string; did: string } }>(stack.apiUrl, 'POST', '/admin/users', {
    token,
    body: { email, fullName: 'Console Member', password: MEMBER_PASSWORD },
  });
  await callApi(stack.apiUrl, 'POST', '/admin/credits/grants', {
    token,
    body: { userDid: user.did, amount: '100', reason: 'welcome credits' },
  });
  return { email, did: user.did };
}

/** The current screen loaded afresh at phone width (390 px), screenshot, then back to 1280 px. */
async function phoneShot(page: Page, name: string): Promise<void> {
  await page.setViewportSize({ width: 390, height: 844 });
  await page.reload();
  await page.waitForLoadState('networkidle');
  await expect(page.getByRole('button', { name: 'Toggle navigation' })).toBeVisible();
  await screenshot(page, `${name}-390`);
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.reload();
  await page.waitForLoadState('networkidle');
}

test('member: create a key, call the gateway with the OpenAI SDK, see the call and the charge', async ({ page, stack }) => {
  const member = await createMember(stack, 'member');
  await loginUi(page, member.email, MEMBER_PASSWORD);
  await expect(page).toHaveURL(/\/console\/usage$/);
  await expect(page.getByTestId('stat-balance')).toHaveText('100.00 CR');
  await expect(page.getByText(/No calls in the last 30 days/)).toBeVisible();
  // no admin entries in a member's navigation
  await expect(page.getByRole('navigation', { name: 'Admin' })).toHaveCount(0);

  // My keys: create one; the secret is shown once
  await page.getByRole('link', { name: 'My keys' }).click();
  await expect(page.getByRole('heading', { name: 'My keys' })).toBeVisible();
  await expect(page.getByText('No active keys.')).toBeVisible();
  await page.getByTestId('create-key').click();
  const dialog = page.getByRole('dialog', { name: 'Create a key' });
  await dialog.getByRole('textbox', { name: 'Name' }).fill('laptop');
  await dialog.getByRole('textbox', { name: 'Requests per minute' }).fill('600');
  await screenshot(page, 'keys-create-1280');
  await dialog.getByRole('button', { name: 'Create key' }).click();
  const secret = (await page.getByTestId('key-secret').textContent())!.trim();
  expect(secret).toMatch(/^tg-[A-Za-z0-9_-]{43}$/);
  await screenshot(page, 'keys-secret-1280');
  await page.getByRole('button', { name: 'Done' }).click();
  const row = page.getByTestId('key-row').filter({ hasText: 'laptop' });
  await expect(row).toContainText(secret.slice(0, 10));
  await expect(row).toContainText('600 rpm');
  await expect(page.getByText(secret)).toHaveCount(0);
  await screenshot(page, 'keys-1280');
  await phoneShot(page, 'keys');

  // the gateway, through the official SDK, with the new key
  const openai = new OpenAI({ apiKey: secret, baseURL: `${stack.apiUrl}/v1` });
  const completion = await openai.chat.completions.create({
    model: stack.chatModel,
    messages: [{ role: 'user', content: 'Hello from the console test' }],
  });
  expect(completion.choices[0].message.content).toBeTruthy();
  expect(completion.usage?.total_tokens).toBeGreaterThan(0);

  // My usage: the call and its charge (recorded and settled asynchronously: reload until shown)
  await page.getByRole('link', { name: 'My usage' }).click();
  await expect(async () => {
    await page.reload();
    await expect(page.getByTestId('stat-calls')).toHaveText('1', { timeout: 2000 });
  }).toPass({ timeout: 30_000 });
  const spent = (await page.getByTestId('stat-credits-spent').textContent())!;
  expect(Number(spent.replace(/[^0-9.]/g, ''))).toBeGreaterThan(0);
  await expect(page.getByRole('table', { name: 'Top models' })).toContainText(stack.chatModel);
  await expect(async () => {
    await page.reload();
    const balance = (await page.getByTestId('stat-balance').textContent({ timeout: 2000 }))!;
    expect(Number(balance.replace(/[^0-9.]/g, ''))).toBeLessThan(100);
  }).toPass({ timeout: 30_000 });
  await page.getByRole('switch', { name: /Stack by model/ }).check();
  await expect(page.getByRole('img', { name: 'Calls per day' })).toBeVisible();
  await screenshot(page, 'usage-1280');
  await phoneShot(page, 'usage');

  // at phone width the navigation is behind the burger
  await page.setViewportSize({ width: 390, height: 844 });
  await expect(page.getByRole('link', { name: 'Call log' })).not.toBeInViewport();
  await page.getByRole('button', { name: 'Toggle navigation' }).click();
  await expect(page.getByRole('link', { name: 'Call log' })).toBeInViewport();
  await screenshot(page, 'nav-390');

  // Call log: the call, its details, filters, CSV export of the filtered log
  await page.getByRole('link', { name: 'Call log' }).click();
  await expect(page.getByRole('heading', { name: 'Call log' })).toBeVisible();
  await page.setViewportSize({ width: 1280, height: 800 });
  await expect(page.getByTestId('call-count')).toHaveText('1 calls');
  const call = page.getByTestId('call-row').first();
  await expect(call).toContainText(stack.chatModel);
  await expect(call).toContainText('success');
  await call.click();
  await expect(page.getByRole('dialog', { name: 'Call' })).toContainText(stack.chatModel);
  await screenshot(page, 'call-details-1280');
  await page.keyboard.press('Escape');
  await page.getByRole('combobox', { name: 'Status' }).click();
  await page.getByRole('option', { name: 'Failed (any)' }).click();
  await expect(page.getByText('No calls match these filters.')).toBeVisible();
  await expect(page).toHaveURL(/status=failed/);
  await page.getByRole('combobox', { name: 'Status' }).click();
  await page.getByRole('option', { name: 'Success' }).click();
  await expect(page.getByTestId('call-count')).toHaveText('1 calls');
  const download = page.waitForEvent('download');
  await page.getByRole('link', { name: 'Export CSV' }).click();
  const file = await download;
  const csv = await (await file.createReadStream()).toArray();
  const text = Buffer.concat(csv as Buffer[]).toString('utf8');
  const lines = text.trim().split(/\r?\n/);
  expect(lines[0]).toMatch(/^Timestamp,Request ID,User DID/);
  expect(lines).toHaveLength(2);
  expect(lines[1]).toContain(stack.chatModel);
  await screenshot(page, 'calls-1280');
  await phoneShot(page, 'calls');

  // Credits: the grant and the debit
  await page.getByRole('link', { name: 'Credits' }).click();
  const tx = page.getByRole('table', { name: 'Transactions' });
  await expect(tx).toContainText('debit');
  await expect(tx).toContainText('+100.00 CR');
  await page.getByRole('tab', { name: 'Grants' }).click();
  await expect(page.getByRole('table', { name: 'Grants' })).toContainText('welcome credits');
  await screenshot(page, 'credits-1280');
  await phoneShot(page, 'credits');

  // revoke the key: the gateway refuses it from then on
  await page.getByRole('link', { name: 'My keys' }).click();
  await page.getByRole('button', { name: 'Actions for laptop' }).click();
  await page.getByRole('menuitem', { name: 'Revoke' }).click();
  await page.getByRole('dialog', { name: 'Revoke the key?' }).getByRole('button', { name: 'Revoke' }).click();
  await expect(page.getByText('No active keys.')).toBeVisible();
  await expect(
    openai.chat.completions.create({ model: stack.chatModel, messages: [{ role: 'user', content: 'again' }] }),
  ).rejects.toMatchObject({
    status: 401,
  });
});

test('member: admin screens are not allowed, and the api refuses them even when forced', async ({ page, stack }) => {
  const member = await createMember(stack, 'curious');
  await loginUi(page, member.email, MEMBER_PASSWORD);
  await page.goto('/console/admin/users');
  await expect(page.getByTestId('not-allowed')).toBeVisible();
  await expect(page.getByText('Your role may not open the admin screens.')).toBeVisible();
  await screenshot(page, 'not-allowed-1280');

  // the page's own session (cookie) against admin endpoints: refused by the api
  const answers = await page.evaluate(async () => {
    const out: Array<{ status: number; code: string }> = [];
    for (const [method, path] of [
      ['GET', '/admin/users'],
      ['GET', '/user/admin/user-stats?startTime=0&endTime=2000000000'],
      ['POST', '/admin/credits/grants'],
    ]) {
      const res = await fetch(path, {
        method,
        credentials: 'same-origin',
        headers: method === 'POST' ? { 'content-type': 'application/json' } : {},
        body: method === 'POST' ? JSON.stringify({ userDid: 'x', amount: 1, reason: 'forced' }) : undefined,
      });
      out.push({ status: res.status, code: ((await res.json()) as { code: string }).code });
    }
    return out;
  });
  expect(answers).toEqual([
    { status: 403, code: 'forbidden' },
    { status: 403, code: 'forbidden' },
    { status: 403, code: 'forbidden' },
  ]);
});
