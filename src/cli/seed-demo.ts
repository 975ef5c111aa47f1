/**
 * Seeds a demo into the configured database (idempotent; run after `npm run db:migrate`):
 * an admin (random password, printed once), a provider "devup" pointing at the bundled dev
 * upstream, rates for its models, a demo user with credits, and a new virtual key for that user.
 * Prints one JSON object: { adminEmail, adminPassword?, userEmail, userDid, apiKey, balance }.
 *
 * Env: the api's configuration (DATABASE_URL, REDIS_URL, ENCRYPTION_KEYS, JWT_SECRET) plus
 * DEMO_UPSTREAM_URL (default http://127.0.0.1:18080/v1) and DEMO_UPSTREAM_KEY (default
 * sk-dev-upstream).
 */
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { NestFactory } from '@nestjs/core';
import { AppModule } from '../app.module';
import { Decimal } from '../common/decimal';
import { CreditLedgerService } from '../credits/credit-ledger.service';
import { KeyManagementService } from '../keys/key-management.service';
import { PrismaService } from '../prisma/prisma.service';
import { ProvidersService } from '../providers/providers.service';
import { UsersService } from '../users/users.service';
import { CatalogService } from '../providers/catalog.service';

const ADMIN_EMAIL = 'admin@tollgate.local';
const USER_EMAIL = 'demo@tollgate.local';
const DEMO_CREDITS = '1000000';

async function main(): Promise<void> {
  const upstreamUrl = process.env.DEMO_UPSTREAM_URL ?? 'http://127.0.0.1:18080/v1';
  const upstreamKey = process.env.DEMO_UPSTREAM_KEY ?? 'sk-dev-upstream';
  const app = await NestFactory.createApplicationContext(AppModule.forRoot(), { logger: ['error', 'warn'] });
  try {
    const prisma = app.get(PrismaService);
    const users = app.get(UsersService);
    const providers = app.get(ProvidersService);
    const ledger = app.get(CreditLedgerService);
    const keys = app.get(KeyManagementService);

    let adminPassword: string | undefined;
    if (!(await prisma.user.findUnique({ where: { email: ADMIN_EMAIL } }))) {
      adminPassword = randomBytes(12).toString('base64url');
      await users.create({ email: ADMIN_EMAIL, fullName: 'Demo Admin', role: 'admin', password: adminPassword });
    }

    let provider = await prisma.aiProvider.findUnique({ where: { name: 'devup' } });
    if (!provider) {
      provider = await providers.createProvider({ name: 'devup', displayName: 'Dev Upstream (bundled)', baseUrl: upstreamUrl });
      await providers.addCredential(provider.id, { name: 'Default Key', value: upstreamKey });
      // Rates in credits per token; unit costs in USD per token (what a real model might cost).
      await providers.addModelRate(provider.id, {
        model: 'mock-model',
        inputRate: '0.15',
        outputRate: '0.6',
        inputUnitCost: '0.00000015',
        outputUnitCost: '0.0000006',
      });
      await providers.addModelRate(provider.id, {
        model: 'mock-embed',
        type: 'embedding',
        inputRate: '0.02',
        outputRate: '0',
        inputUnitCost: '0.00000002',
        outputUnitCost: '0',
      });
    } else if (provider.baseUrl !== upstreamUrl.replace(/\/+$/, '')) {
      await prisma.aiProvider.update({ where: { id: provider.id }, data: { baseUrl: upstreamUrl.replace(/\/+$/, '') } });
      await app.get(CatalogService).invalidate();
    }

    const user =
      (await prisma.user.findUnique({ where: { email: USER_EMAIL } })) ??
      (await users.create({ email: USER_EMAIL, fullName: 'Demo User' }));
    await ledger.grant({
      userId: user.id,
      amount: new Decimal(DEMO_CREDITS),
      reason: 'demo credits',
      source: 'demo',
      idempotencyKey: `demo-initial-grant-${user.id}`,
    });
    const key = await keys.create(user.id, { name: `demo key ${new Date().toISOString()}` });
    const balance = await ledger.balance(user.id);
    process.stdout.write(
      `${JSON.stringify({ adminEmail: ADMIN_EMAIL, adminPassword, userEmail: USER_EMAIL, userDid: user.did, apiKey: key.secret, balance: balance.toFixed() })}\n`,
    );
  } finally {
    await app.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`seed-demo failed: ${(err as Error)?.message ?? String(err)}\n`);
  process.exit(1);
});
