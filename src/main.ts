import { APP_CONFIG } from './config/config.module';
import { AppConfig, ConfigError } from './config/app-config';
import { createApiApp } from './app.factory';

/** Entry point of the api process: `node dist/src/main.js`. */
async function main(): Promise<void> {
  const app = await createApiApp();
  const config = app.get<AppConfig>(APP_CONFIG);
  await app.listen(config.port, config.host);
  process.stdout.write(`tollgate api listening on http://${config.host}:${config.port} (pid ${process.pid})\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof ConfigError ? err.message : ((err as Error)?.stack ?? String(err))}\n`);
  process.exit(1);
});
