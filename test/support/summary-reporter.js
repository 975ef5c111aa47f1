/**
 * Jest reporter that ends the run with one plain line, "N passed, N failed, N skipped", so any
 * CI that reads closing lines sees the counts. `npm test` runs jest twice (unit, then e2e): each
 * run prints its line, and the last one printed is the e2e run's (a failing unit run stops
 * `npm test` before e2e starts, so its line is the last).
 *
 * A suite that fails outside any test (it does not compile, an import throws, an afterAll hook
 * fails) has no failed test of its own; it counts as one failure here, so the line never reads
 * "0 failed" for a run that failed.
 */
class SummaryReporter {
  onRunComplete(_contexts, results) {
    const skipped = results.numPendingTests + results.numTodoTests;
    let failed = results.numFailedTests;
    for (const suite of results.testResults) {
      if (suite.numFailingTests === 0 && (suite.testExecError || suite.failureMessage)) failed++;
    }
    process.stdout.write(`\n${results.numPassedTests} passed, ${failed} failed, ${skipped} skipped\n`);
  }
}
module.exports = SummaryReporter;
