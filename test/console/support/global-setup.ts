/**
 * Playwright global setup: starts the stack (support/stack.ts), writes its description to
 * STACK_FILE (and its path to TOLLGATE_CONSOLE_STACK for the workers), and returns the teardown.
 */
import * as fs from 'node:fs';
import { STACK_FILE, startStack } from './stack';

export default async function globalSetup(): Promise<() => Promise<void>> {
  const stack = await startStack();
  fs.writeFileSync(STACK_FILE, JSON.stringify(stack.info, null, 2), { mode: 0o600 });
  process.env.TOLLGATE_CONSOLE_STACK = STACK_FILE;
  return async () => {
    await stack.close();
    fs.rmSync(STACK_FILE, { force: true });
  };
}
