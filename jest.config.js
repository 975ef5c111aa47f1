/**
 * Jest, two projects:
 * - `unit`: specs next to the code (src/**\/*.spec.ts): no database, no Redis;
 * - `e2e`: suites in test/ (*.e2e-spec.ts) against real PostgreSQL and Redis. Each suite creates
 *   and drops its own database, uses its own queue prefix and picks free ports, so suites run in
 *   parallel workers.
 *
 * `npm test` builds, then runs `jest --selectProjects unit`, then `jest --selectProjects e2e`: a
 * broken unit stops it within seconds, and the last "N passed, N failed, N skipped" line printed
 * (test/support/summary-reporter.js) is the e2e run's. Plain `npx jest` runs both projects in one
 * run. --selectProjects takes a list, so put paths before it:
 * `npx jest test/gateway --selectProjects e2e`.
 */
const shared = {
  testEnvironment: 'node',
  rootDir: __dirname,
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
};

module.exports = {
  // e2e suites wait on PostgreSQL, Redis, sockets and child processes much of the time: on 2
  // cores 3 workers finished the e2e project 10-15 % sooner than 2, with at most ~27 PostgreSQL
  // connections open in all. npm test runs the CPU-bound unit project with 2.
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
