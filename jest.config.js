/**
 * Jest, two projects:
 * - `unit`: specs next to the code (src/**\/*.spec.ts): no database, no Redis, seconds;
 * - `e2e`: suites in test/ (*.e2e-spec.ts) against real PostgreSQL and Redis. Each suite creates
 *   and drops its own database and uses its own queue prefix, and every port is picked free, so
 *   suites run in parallel workers.
 *
 * `npm test` runs them one after the other (`jest --selectProjects unit`, then
 * `jest --selectProjects e2e`), so a broken unit stops the run within seconds and the last
 * "N passed, N failed, N skipped" line printed is the e2e run's. Plain `npx jest` runs both
 * projects in one run; `npx jest <path>` runs what matches.
 */
const shared = {
  testEnvironment: 'node',
  rootDir: __dirname,
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
};

module.exports = {
  // Measured on 2 cores: e2e suites wait on PostgreSQL, Redis and child processes more than they
  // compute, so 3 workers beat 2; see package.json "test" for what npm test passes.
  maxWorkers: 3,
  // Global only: jest-circus reads the run's testTimeout, not a project's.
  testTimeout: 60000,
  reporters: ['default', '<rootDir>/test/support/summary-reporter.js'],
  projects: [
    {
      ...shared,
      displayName: 'unit',
      testMatch: ['<rootDir>/src/**/*.spec.ts'],
    },
    {
      ...shared,
      displayName: 'e2e',
      testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'],
      globalTeardown: '<rootDir>/test/support/global-teardown.js',
    },
  ],
};
