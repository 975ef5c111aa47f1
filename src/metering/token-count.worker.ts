import { runCountJob, TokenCountJob } from './token-counter';

/**
 * Worker-thread entry of TokenCounterService's pool (piscina calls the default export with each
 * posted job). The worker loads gpt-tokenizer on its first job and keeps it until the pool's
 * idle timeout ends the thread.
 */
export default function countTokensInWorker(job: TokenCountJob): number {
  return runCountJob(job);
}
