/**
 * The specs' `test`: Playwright's, with `stack` (the running stack's description) and `baseURL`
 * set to the api, so `page.goto('/console/…')` works. Also login helpers.
 */
import { test as base, expect, type Page } from '@playwright/test';
import { readStack, type StackInfo } from './stack';

export const test = base.extend<{ stack: StackInfo }>({
  // eslint-disable-next-line no-empty-pattern -- Playwright reads the fixture's dependencies from this pattern
  stack: async ({}, use) => {
    await use(readStack());
  },
  // eslint-disable-next-line no-empty-pattern
  baseURL: async ({}, use) => {
    await use(readStack().apiUrl);
  },
});

export { expect };

/** Logs in through the console's login form and waits for the first screen after it. */
export async function loginUi(page: Page, login: string, password: string): Promise<void> {
  await page.goto('/console/login');
  await page.getByLabel('Email or username').fill(login);
  await page.getByRole('textbox', { name: 'Password', exact: true }).fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.waitForURL((url) => !url.pathname.endsWith('/console/login'));
}

/** Where the screenshots go (git-ignored; CI keeps them as artifacts). */
export const SCREENSHOT_DIR = 'test/console/screenshots';

/** A full-page screenshot named `<name>.png` in SCREENSHOT_DIR. */
export async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: `${SCREENSHOT_DIR}/${name}.png`, fullPage: true });
}
