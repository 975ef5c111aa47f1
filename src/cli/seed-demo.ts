/**
 * Seeds a demo into the configured database (idempotent; run after `npm run db:migrate`):
 * - the super admin, when there is none (generated password, printed once, to be changed at
 *   first login; an `admin@tollgate.local` of an older demo is promoted instead);
 * - a provider "devup" pointing at the bundled dev upstream, with rates for its models;
 * - a demo user with credits, whose password is set anew on every run (printed, no forced change,
 *   so a newcomer can open their own usage at once), and a new virtual key for that user;
 * - a new service key of the super admin with the `users:read` and `users:write` scopes, for the
 *   user-management APIs (docs/roles.md "Service keys").
 * Prints one JSON object: { adminEmail, adminPassword?, userEmail, userPassword, userDid, apiKey,
 * serviceKey, balance }. Meant for local demos: it rewrites the demo user's password each run.
 *
 * Env: the api's configuration (DATABASE_URL, REDIS_URL, ENCRYPTION_KEYS, JWT_SECRET) plus
 * DEMO_UPSTREAM_URL (default http://127.0.0.1:18080/v1) and DEMO_UPSTREAM_KEY (default
 * sk-dev-upstream).
 */
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { AppModule } from '../app.module';
import { generatePassword } from '../auth/passwords';
import { Decimal } from '../common/decimal';
import { CreditLedgerService } from '../credits/credit-ledger.service';
import { KeyManagementService } from '../keys/key-management.service';
import { PrismaService } from '../prisma/prisma.service';
import { ProvidersService } from '../providers/providers.service';
import { UsersService } from '../users/users.service';
import { CatalogService } from '../providers/catalog.service';
import { systemAuditContext } from '../audit/audit-entry';
import { LlmProfilesService } from '../llm-config/llm-profiles.service';

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
    let superAdmin = await prisma.user.findFirst({ where: { role: 'super_admin' }, orderBy: { createdAt: 'asc' } });
    if (!superAdmin) {
      const existing = await prisma.user.findUnique({ where: { email: ADMIN_EMAIL } });
      if (existing) superAdmin = await prisma.user.update({ where: { id: existing.id }, data: { role: 'super_admin' } });
      else {
        const created = await users.create({ email: ADMIN_EMAIL, fullName: 'Demo Admin', role: 'super_admin' });
        adminPassword = created.generatedPassword;
        superAdmin = created;
      }
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
      (await users.create({ email: USER_EMAIL, fullName: 'Demo User', password: generatePassword() }));
    const userPassword = generatePassword();
    await users.setPassword(user.id, userPassword);
    await prisma.user.update({ where: { id: user.id }, data: { mustChangePassword: false } });
    await ledger.grant({
      userId: user.id,
      amount: new Decimal(DEMO_CREDITS),
      reason: 'demo credits',
      source: 'demo',
      idempotencyKey: `demo-initial-grant-${user.id}`,
    });
    const key = await keys.create(user.id, { name: `demo key ${new Date().toISOString()}` });
    const serviceKey = await keys.create(superAdmin.id, {
      name: `demo service key ${new Date().toISOString()}`,
      scopes: ['users:read', 'users:write', 'llm-config:read'],
    });
    // LLM config API (docs/coding-agents.md): the demo user is GitHub "demo-dev", its agent calls Tollgate with the demo key
    const profiles = app.get(LlmProfilesService);
    const demoActor = { id: superAdmin.id, role: superAdmin.role };
    const linked = await prisma.externalIdentity.findUnique({ where: { platform_username: { platform: 'github', username: 'demo-dev' } } });
    if (!linked) await profiles.addIdentity(user.id, { platform: 'github', username: 'demo-dev' }, systemAuditContext('demo'), demoActor);
    await profiles.putProfile(
      user.id,
      { provider: 'tollgate', tollgate: { keyId: key.id, model: 'mock-model', maxToken: 4096 } },
      systemAuditContext('demo'),
      demoActor,
    );
    const balance = await ledger.balance(user.id);
    process.stdout.write(
      `${JSON.stringify({
        adminEmail: superAdmin.email,
        adminPassword,
        userEmail: USER_EMAIL,
        userPassword,
        userDid: user.did,
        apiKey: key.secret,
        serviceKey: serviceKey.secret,
        balance: balance.toFixed(),
      })}\n`,
    );
  } finally {
    await app.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`seed-demo failed: ${(err as Error)?.message ?? String(err)}\n`);
  process.exit(1);
});
