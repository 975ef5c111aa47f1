/**
 * Browser tests of the console (`npm run test:console`): test/console/*.spec.ts against a real
 * stack started by support/global-setup.ts (needs a build: `npm run build`, or TOLLGATE_DIST_DIR
 * and CONSOLE_DIST_DIR). Chromium from the system (/usr/bin/chromium, or CHROMIUM_PATH): Playwright
 * does not download browsers here. One worker: the specs share the stack and the machine is small.
 */
import { defineConfig, devices } from '@playwright/test';

export default defineConfig({
  testDir: '.',
  testMatch: '*.spec.ts',
  // CONSOLE_TEST_OUTPUT: another folder for traces and failure screenshots (two runs at once)
  outputDir: process.env.CONSOLE_TEST_OUTPUT ?? './test-results',
  globalSetup: './support/global-setup.ts',
  workers: 1,
  fullyParallel: false,
  timeout: 90_000,
  expect: { timeout: 15_000 },
  reporter: [['list']],
  use: {
    ...devices['Desktop Chrome'],
    viewport: { width: 1280, height: 800 },
    launchOptions: { executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium' },
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
  },
});
