/**
 * Fills the unit costs (USD per token) of a provider's model rates from the price catalog of
 * @pydantic/genai-prices (bundled data, works offline):
 *
 *   npm run prices:import -- --provider <name> [--catalog-provider <id>] [--dry-run]
 *
 * Prints a JSON report {provider, catalogProvider, dryRun, updated[], unchanged[], unmatched[]}.
 * Then POST /ai-providers/bulk-rate-update turns unit costs into rates. Exit codes: 0 done,
 * 1 failure (unknown provider, database), 2 bad arguments.
 * Env: the api's configuration (DATABASE_URL, REDIS_URL, ENCRYPTION_KEYS, JWT_SECRET).
 */
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { AppModule } from '../app.module';
import { ConfigError } from '../config/app-config';
import { PriceImportError, PriceImportService } from '../providers/price-import.service';

interface Args {
  provider: string;
  catalogProvider?: string;
  dryRun: boolean;
}

export function parseArgs(argv: string[]): Args | string {
  const args: Partial<Args> = { dryRun: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--dry-run') args.dryRun = true;
    else if (a === '--provider' || a === '--catalog-provider') {
      const v = argv[++i];
      if (!v || v.startsWith('--')) return `${a} needs a value`;
      if (a === '--provider') args.provider = v;
      else args.catalogProvider = v;
    } else return `unknown argument ${a}`;
  }
  if (!args.provider) return 'usage: import-prices --provider <name> [--catalog-provider <id>] [--dry-run]';
  return args as Args;
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  if (typeof args === 'string') {
    process.stderr.write(`${args}\n`);
    return 2;
  }
  const app = await NestFactory.createApplicationContext(AppModule.forRoot(), { logger: ['error', 'warn'] });
  try {
    const report = await app.get(PriceImportService).import(args);
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return 0;
  } catch (err) {
    if (err instanceof PriceImportError) {
      process.stderr.write(`import-prices: ${err.message}\n`);
      return 1;
    }
    throw err;
  } finally {
    await app.close();
  }
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`${err instanceof ConfigError ? err.message : ((err as Error)?.stack ?? String(err))}\n`);
      process.exit(1);
    },
  );
}
