import { defineConfig } from '@playwright/test';
export default defineConfig({
  testDir: '..',
  testMatch: /admin-.*\.spec\.ts/,
  workers: 1,
  timeout: 90_000,
  use: {
    baseURL: process.env.BASE ?? 'http://127.0.0.1:3471',
    viewport: { width: 1280, height: 800 },
    launchOptions: { executablePath: '/usr/bin/chromium' },
    trace: 'retain-on-failure',
  },
  outputDir: '/tmp/admin-pw-results',
  reporter: 'list',
});
