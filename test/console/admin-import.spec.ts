/**
 * An admin imports users from a CSV in the console: a dry run first (its preview lists the rows
 * that would be created and the bad rows with their line and code, and nothing is written), then
 * the real run, after which the users list finds the new users by search.
 */
import { expect, test } from './support/fixtures';
import { api, loginInBrowser, loginToken, uniqueTag } from './admin-support/admin-api';
import { adminCredentials } from './admin-support/stack';

interface UserPage {
  count: number;
  list: Array<{ email: string; role: string; team: { name: string } | null }>;
}

test('CSV import: dry run with preview, then the real run, then the users are found by search', async ({ page, baseURL }) => {
  const creds = adminCredentials();
  const token = await loginToken(baseURL!, creds);
  const tag = uniqueTag();
  const emails = [`imp-${tag}-ann@example.com`, `imp-${tag}-bob@example.com`, `imp-${tag}-cy@example.com`];
  const team = `Imported ${tag}`;
  const csv = [
    'email,role,team_name,key_name',
    `${emails[0]},internal_user,${team},laptop`,
    `${emails[1]},member_viewer,${team},`,
    `${emails[2]},,,`,
    `not-an-email-${tag},member,,`,
    `${emails[0].toUpperCase()},member,,`,
  ].join('\n');

  await loginInBrowser(page, creds);
  await page.goto('/console/admin/users/import');
  await expect(page.getByRole('heading', { name: 'Import users from CSV' })).toBeVisible();
  await page.locator('input[type=file]').setInputFiles({ name: `users-${tag}.csv`, mimeType: 'text/csv', buffer: Buffer.from(csv) });
  await expect(page.getByText(`users-${tag}.csv`)).toBeVisible();
  // the real run is offered only after a dry run
  await expect(page.getByRole('button', { name: 'Import for real' })).toBeDisabled();

  await page.getByRole('button', { name: 'Dry run' }).click();
  const dry = page.getByTestId('dry-run-report');
  await expect(dry).toBeVisible();
  await expect(dry.getByText('Dry run: nothing was written')).toBeVisible();
  await expect(dry.getByTestId('summary-created')).toHaveText('3');
  await expect(dry.getByTestId('summary-errors')).toHaveText('2');
  const preview = dry.getByTestId('preview-row');
  await expect(preview).toHaveCount(3);
  for (const email of emails) await expect(preview.filter({ hasText: email })).toContainText('created');
  await page.screenshot({ path: 'test/console/screenshots/admin-import-dry-run.png', fullPage: true });
  await dry.getByRole('tab', { name: /Bad rows/ }).click();
  const bad = dry.getByTestId('error-row');
  await expect(bad).toHaveCount(2);
  await expect(bad.filter({ hasText: 'INVALID_EMAIL' })).toContainText('5');
  await expect(bad.filter({ hasText: 'DUPLICATE_EMAIL' })).toContainText('6');
  await page.screenshot({ path: 'test/console/screenshots/admin-import-bad-rows.png', fullPage: true });

  // the dry run wrote nothing
  const before = await api<UserPage>(baseURL!, token, 'GET', `/admin/users?search=imp-${tag}`);
  expect(before.count).toBe(0);

  await page.getByRole('button', { name: 'Import for real' }).click();
  const done = page.getByTestId('import-report');
  await expect(done).toBeVisible();
  await expect(done.getByText('Import done')).toBeVisible();
  await expect(done.getByTestId('summary-created')).toHaveText('3');
  await expect(done.getByTestId('summary-keys-created')).toHaveText('1');
  await expect(done.getByTestId('summary-errors')).toHaveText('2');
  await expect(done.getByRole('button', { name: 'Result file' })).toBeEnabled();
  await page.screenshot({ path: 'test/console/screenshots/admin-import-done.png', fullPage: true });

  // the result file downloads through its endpoint and lists the created users
  const download = page.waitForEvent('download');
  await done.getByRole('button', { name: 'Result file' }).click();
  const file = await download;
  const text = await (await file.createReadStream()).toArray().then((chunks) => Buffer.concat(chunks).toString('utf8'));
  for (const email of emails) expect(text).toContain(email);

  await page.getByRole('link', { name: '← Users' }).click();
  await expect(page).toHaveURL(/\/console\/admin\/users$/);
  await page.getByLabel('Search').fill(`imp-${tag}`);
  const rows = page.getByTestId('user-row');
  await expect(rows).toHaveCount(3);
  for (const email of emails) await expect(rows.filter({ hasText: email })).toBeVisible();
  await expect(rows.filter({ hasText: emails[0] })).toContainText(team);
  await expect(rows.filter({ hasText: emails[1] })).toContainText('member_viewer');

  const after = await api<UserPage>(baseURL!, token, 'GET', `/admin/users?search=imp-${tag}&sort=email&order=asc`);
  expect(after.list.map((u) => [u.email, u.role, u.team?.name ?? null])).toEqual([
    [emails[0], 'member', team],
    [emails[1], 'member_viewer', team],
    [emails[2], 'member', null],
  ]);
});
