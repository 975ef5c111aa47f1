/**
 * REST helpers for the admin browser tests: an admin's login token, JSON calls and the data the
 * tests set up through the public API (the same endpoints the console uses).
 */
import { expect, type Page } from '@playwright/test';

export interface AdminCredentials {
  login: string;
  password: string;
}

/** A JSON call as the given token; throws with the answer's body on a non-2xx status. */
export async function api<T>(
  baseURL: string,
  token: string | null,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<T> {
  const res = await fetch(new URL(path, baseURL), {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...headers,
    },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path} answered ${res.status}: ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

/** POST /auth/login → the access token (the account must not need a password change). */
export async function loginToken(baseURL: string, creds: AdminCredentials): Promise<string> {
  const r = await api<{ accessToken: string; mustChangePassword: boolean }>(baseURL, null, 'POST', '/auth/login', {
    login: creds.login,
    password: creds.password,
  });
  expect(r.mustChangePassword).toBe(false);
  return r.accessToken;
}

/** Logs in through the console's login form and waits for the app. */
export async function loginInBrowser(page: Page, creds: AdminCredentials): Promise<void> {
  await page.goto('/console/login');
  await page.getByLabel('Email or username').fill(creds.login);
  await page.locator('input[type=password]').fill(creds.password);
  await page.getByRole('button', { name: /log in/i }).click();
  await page.waitForURL((url) => !url.pathname.endsWith('/login'));
}

/** A short random tag, so tests sharing a stack never collide on names. */
export function uniqueTag(): string {
  return `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
}
