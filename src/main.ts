import cluster from 'node:cluster';
import { ConfigError, loadConfig } from './config/app-config';
import { tuneApiHeap } from './metrics/heap-tuning';

/**
 * Entry point of the api process: `node dist/src/main.js`. With API_WORKERS = 1 (the default) it
 * is the api. With more, the first process becomes the cluster's primary
 * (src/cluster/api-cluster.ts: no Nest application, no connections) and forks that many workers,
 * each running this file again as the api (docs/operations.md "Several api processes on one
 * machine"). The configuration is checked first, so a bad value stops boot once, in the primary.
 */
async function main(): Promise<void> {
  const config = loadConfig(process.env);
  if (config.apiWorkers > 1 && cluster.isPrimary) {
    const { runApiCluster } = await import('./cluster/api-cluster');
    const code = await runApiCluster({ workers: config.apiWorkers, host: config.host, port: config.port, logLevel: config.logLevel });
    process.exit(code);
  }
  // V8's heap sizing for a server (src/metrics/heap-tuning.ts, docs/operations.md "Memory"),
  // before the application's modules load.
  const heap = tuneApiHeap();
  // Loaded only here: the primary never loads the application's modules.
  const { createApiApp } = await import('./app.factory');
  const app = await createApiApp();
  await app.listen(config.port, config.host);
  heap.startYoungGrowth();
  process.stdout.write(`tollgate api listening on http://${config.host}:${config.port} (pid ${process.pid})\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof ConfigError ? err.message : ((err as Error)?.stack ?? String(err))}\n`);
  process.exit(1);
});
