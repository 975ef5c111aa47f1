/**
 * (a) First login of the bootstrap super admin: the console sends them to the password change
 * before anything else; after it, the shell with the admin navigation opens, and the old password
 * no longer works. Also: the session survives a reload (the httpOnly cookie, no token in storage).
 */
import { expect, screenshot, test } from './support/fixtures';

test('bootstrap admin: forced password change at first login, then the console', async ({ page, stack }) => {
  const { email, password } = stack.bootstrapAdmin;
  const newPassword = 'bootstrap admin new password 1';

  await page.goto('/console/');
  await expect(page).toHaveURL(/\/console\/login$/);
  await expect(page.getByRole('heading', { name: 'Tollgate console' })).toBeVisible();
  await screenshot(page, 'login-1280');
  await page.setViewportSize({ width: 390, height: 844 });
  await screenshot(page, 'login-390');
  await page.setViewportSize({ width: 1280, height: 800 });

  await page.getByLabel('Email or username').fill(email);
  await page.getByRole('textbox', { name: 'Password', exact: true }).fill('not the password');
  await page.getByRole('button', { name: 'Log in' }).click();
  await expect(page.getByRole('alert')).toHaveText('Wrong login or password.');

  await page.getByRole('textbox', { name: 'Password', exact: true }).fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await expect(page).toHaveURL(/\/console\/password$/);
  await expect(page.getByRole('heading', { name: 'Choose a new password' })).toBeVisible();

  // any other screen leads back to the password change while it is required
  await page.goto('/console/usage');
  await expect(page).toHaveURL(/\/console\/password$/);
  await screenshot(page, 'password-change-1280');
  await page.setViewportSize({ width: 390, height: 844 });
  await screenshot(page, 'password-change-390');
  await page.setViewportSize({ width: 1280, height: 800 });

  await page.getByLabel('Current password').fill(password);
  await page.getByRole('textbox', { name: 'New password', exact: true }).fill(newPassword);
  await page.getByLabel('Repeat the new password').fill(`${newPassword}x`);
  await expect(page.getByText('The passwords differ')).toBeVisible();
  await page.getByLabel('Repeat the new password').fill(newPassword);
  await page.getByRole('button', { name: 'Change password' }).click();

  await expect(page).toHaveURL(/\/console\/usage$/);
  await expect(page.getByRole('heading', { name: 'My usage' })).toBeVisible();
  await expect(page.getByRole('button', { name: 'Account menu' })).toContainText('super_admin');

  // the session is the httpOnly cookie: a reload keeps it, and nothing is kept in web storage
  await page.reload();
  await expect(page.getByRole('heading', { name: 'My usage' })).toBeVisible();
  // (expressions as strings: the root tsconfig has no DOM types)
  const stored = await page.evaluate<string>('JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage })');
  expect(stored).not.toMatch(/eyJ/);
  const cookies = await page.context().cookies();
  const session = cookies.find((c) => c.name === 'tollgate_session');
  expect(session).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/' });
  expect(await page.evaluate<string>('document.cookie')).not.toContain('tollgate_session');

  // the old password is refused from now on
  const old = await page.request.post('/auth/login', { data: { login: email, password } });
  expect(old.status()).toBe(401);

  // log out: back to the login, and the cookie no longer opens the console
  await page.getByRole('button', { name: 'Account menu' }).click();
  await page.getByRole('menuitem', { name: 'Log out', exact: true }).click();
  await expect(page).toHaveURL(/\/console\/login(\?|$)/);
  await expect(page.getByRole('button', { name: 'Log in' })).toBeVisible();
  await page.goto('/console/usage');
  await expect(page).toHaveURL(/\/console\/login\?next=%2Fusage$/);
});
