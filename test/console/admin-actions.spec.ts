/**
 * Admin actions through the console: a credit grant whose answer is lost is retried with the same
 * Idempotency-Key and grants once; a bulk edit adds a model to the selected users only; a team gets
 * a member and loses it.
 */
import { expect, test } from './support/fixtures';
import { api, loginInBrowser, loginToken, uniqueTag } from './admin-support/admin-api';
import { adminCredentials, apiUrl } from './admin-support/stack';

interface User {
  id: string;
  did: string;
  email: string;
  allowedModels: string[];
  team: { id: string; name: string } | null;
  spend: { balance: string };
}

const tag = uniqueTag();
let token = '';
const users: User[] = [];

test.beforeAll(async () => {
  token = await loginToken(apiUrl(), adminCredentials());
  for (const name of ['a', 'b', 'c']) {
    const r = await api<{ user: User }>(apiUrl(), token, 'POST', '/admin/users', {
      email: `act-${tag}-${name}@example.com`,
      allowedModels: ['base-model'],
    });
    users.push(r.user);
  }
});

const getUser = (id: string) => api<User>(apiUrl(), token, 'GET', `/admin/users/${id}`);

test('a grant whose answer was lost is retried with the same Idempotency-Key and grants once', async ({ page }) => {
  await loginInBrowser(page, adminCredentials());
  await page.goto('/console/admin/credits');
  const keys: string[] = [];
  let dropped = false;
  // the first answer never reaches the page (the grant itself is made), as on a broken connection
  await page.route('**/admin/credits/grants', async (route) => {
    keys.push(route.request().headers()['idempotency-key']);
    if (dropped) return route.continue();
    dropped = true;
    await route.fetch();
    await route.abort('connectionreset');
  });
  await page.getByRole('combobox', { name: 'User' }).fill(`act-${tag}-a`);
  await page.getByRole('option', { name: `act-${tag}-a@example.com` }).click();
  await page.getByRole('textbox', { name: 'Amount (credits)' }).fill('12.5');
  await page.getByRole('textbox', { name: 'Reason' }).fill(`retry test ${tag}`);
  await page.getByRole('button', { name: 'Grant' }).click();
  await expect(page.getByRole('alert').filter({ hasText: 'Not granted' })).toBeVisible();
  expect((await getUser(users[0].id)).spend.balance).toBe('12.5');

  await page.getByRole('button', { name: 'Grant' }).click();
  const done = page.getByTestId('grant-done');
  await expect(done).toContainText('Already granted');
  await expect(done).toContainText('nothing was granted again');
  expect(keys).toHaveLength(2);
  expect(keys[0]).toMatch(/^[0-9a-f-]{36}$/);
  expect(keys[1]).toBe(keys[0]);
  expect((await getUser(users[0].id)).spend.balance).toBe('12.5');

  // a new submission gets a new key and grants again
  await page.getByRole('textbox', { name: 'Amount (credits)' }).fill('1');
  await page.getByRole('textbox', { name: 'Reason' }).fill(`second ${tag}`);
  await page.getByRole('button', { name: 'Grant' }).click();
  await expect(done).toContainText('Granted');
  await expect(done).toContainText('Balance now 13.50 CR');
  expect(keys).toHaveLength(3);
  expect(keys[2]).not.toBe(keys[0]);
  expect((await getUser(users[0].id)).spend.balance).toBe('13.5');
});

test('bulk edit adds a model to the selected users only', async ({ page }) => {
  await loginInBrowser(page, adminCredentials());
  await page.goto('/console/admin/users');
  await page.getByLabel('Search').fill(`act-${tag}`);
  await expect(page.getByTestId('user-row')).toHaveCount(3);
  await page.getByRole('checkbox', { name: `Select act-${tag}-a@example.com` }).check();
  await page.getByRole('checkbox', { name: `Select act-${tag}-b@example.com` }).check();
  await expect(page.getByTestId('bulk-bar')).toContainText('2 selected');
  await page.getByRole('button', { name: 'Edit models, services, team…' }).click();
  const dialog = page.getByRole('dialog', { name: 'Edit 2 users' });
  await expect(dialog.getByRole('radio', { name: 'Add' }).first()).toBeChecked();
  await dialog.getByRole('combobox', { name: 'Allowed models' }).fill('extra-model');
  await dialog.getByRole('combobox', { name: 'Allowed models' }).press('Enter');
  await dialog.getByRole('button', { name: 'Apply to 2 users' }).click();
  await expect(dialog).toBeHidden();
  await expect(page.getByText('Updated 2 users')).toBeVisible();

  expect((await getUser(users[0].id)).allowedModels).toEqual(['base-model', 'extra-model']);
  expect((await getUser(users[1].id)).allowedModels).toEqual(['base-model', 'extra-model']);
  expect((await getUser(users[2].id)).allowedModels).toEqual(['base-model']);
});

test('a team gets a member and loses it', async ({ page }) => {
  const team = await api<{ id: string }>(apiUrl(), token, 'POST', '/admin/teams', { name: `Act ${tag}` });
  await loginInBrowser(page, adminCredentials());
  await page.goto(`/console/admin/teams/${team.id}`);
  await expect(page.getByText('No members.')).toBeVisible();
  await page.getByRole('combobox', { name: 'Add members' }).fill(`act-${tag}-c`);
  await page.getByRole('option', { name: `act-${tag}-c@example.com` }).click();
  await page.getByRole('button', { name: 'Add', exact: true }).click();
  const members = page.getByRole('table', { name: 'Members' });
  await expect(members).toContainText(`act-${tag}-c@example.com`);
  expect((await getUser(users[2].id)).team?.id).toBe(team.id);

  await members.getByRole('button', { name: 'Remove' }).click();
  await page.getByRole('dialog', { name: 'Remove member' }).getByRole('button', { name: 'Remove' }).click();
  await expect(page.getByText('No members.')).toBeVisible();
  expect((await getUser(users[2].id)).team).toBeNull();
});
