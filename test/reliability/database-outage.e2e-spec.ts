/**
 * A PostgreSQL outage loses no call a client received: streams in flight finish, their records go
 * to the Redis fallback, and `data: [DONE]` is sent only once a record is durable; the worker drains
 * the fallback into PostgreSQL exactly once when it is back. New calls meanwhile answer 503, not 500.
 * PostgreSQL is cut and restored through a TCP proxy.
 */
import { randomUUID } from 'node:crypto';
import { JwtService } from '@nestjs/jwt';
import { Decimal } from '../../src/common/decimal';
import { APP_CONFIG } from '../../src/config/config.module';
import { AppConfig } from '../../src/config/app-config';
import { CallRecoveryService } from '../../src/model-calls/call-recovery.service';
import { startFaultProxy, FaultProxy } from '../support/fault-proxy';
import { createDevProvider, createTenant, Harness, startHarness, Tenant } from '../support/gateway-harness';
import { startTestWorker, TestWorker } from '../support/worker-harness';

interface StreamResult {
  status: number;
  requestId: string | null;
  text: string;
}

describe('PostgreSQL outage during calls', () => {
  let h: Harness;
  let proxy: FaultProxy;
  let worker: TestWorker;

  beforeAll(async () => {
    proxy = await startFaultProxy({ targetHost: '127.0.0.1', targetPort: 5432 });
    h = await startHarness(
      'pgoutage',
      {
        CALL_RECORD_DB_TIMEOUT_MS: '1000',
        CREDIT_HOLD_TIMEOUT_MS: '1000',
        DATABASE_CONNECT_TIMEOUT_MS: '1000',
        DATABASE_QUERY_TIMEOUT_MS: '1500',
        CREDIT_HOLD_TTL_SECONDS: '6',
      },
      { databaseUrlFor: (url) => proxy.url(url) },
    );
    await createDevProvider(h, { inputRate: '0.5', outputRate: '1.5' });
    worker = await startTestWorker(h.db.url, h.app.get<AppConfig>(APP_CONFIG).queuePrefix);
  });

  afterAll(async () => {
    await proxy?.restore();
    await worker?.close();
    await h?.close();
    await proxy?.close();
  });

  const stream = async (tenant: Tenant, content: string, onFirstChunk?: () => void): Promise<StreamResult> => {
    const res = await fetch(`${h.baseUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tenant.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'mock-model', stream: true, messages: [{ role: 'user', content }] }),
    });
    let text = '';
    if (res.body) {
      const decoder = new TextDecoder();
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        if (!text) onFirstChunk?.();
        text += decoder.decode(chunk, { stream: true });
      }
    }
    return { status: res.status, requestId: res.headers.get('x-request-id'), text };
  };

  for (const mode of ['refuse', 'blackhole'] as const) {
    it(`records every finished stream through a ${mode} cut and answers new calls 503`, async () => {
      const tenants = await Promise.all(Array.from({ length: 4 }, () => createTenant(h, { credits: '100000' })));
      const cold = await createTenant(h, { credits: '100000' }); // its key is not cached yet
      // Warm the key and catalog caches so the cut hits the hold and the record, not the lookups.
      for (const t of tenants) expect((await stream(t, 'warm up')).status).toBe(200);
      await h.recorder.drain();

      let started = 0;
      let cut: Promise<void> | null = null;
      const onFirst = () => {
        if (++started === tenants.length) cut = proxy.cut(mode === 'refuse' ? 'refuse' : { mode: 'blackhole', existing: 'freeze' });
      };
      const streams = tenants.map((t, i) => stream(t, `outage ${mode} ${i} #mock:words=20 #mock:chunk-delay=150`, onFirst));
      for (let i = 0; i < 500 && !cut; i++) await new Promise((r) => setTimeout(r, 10));
      expect(cut).not.toBeNull();
      await cut;

      // A new call while the database is away: 503, nothing sent upstream.
      const during = await fetch(`${h.baseUrl}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${tenants[0].key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'mock-model', messages: [{ role: 'user', content: 'during the outage' }] }),
      });
      expect(during.status).toBe(503);
      expect(((await during.json()) as { error: { code: string } }).error.code).toBe('service_unavailable');
      // A key that must be looked up in the database: 503 too, not 500.
      const lookup = await fetch(`${h.baseUrl}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${cold.key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'mock-model', messages: [{ role: 'user', content: 'cold key' }] }),
      });
      expect(lookup.status).toBe(503);
      expect(lookup.headers.get('retry-after')).toBe('1');

      const results = await Promise.all(streams);
      for (const r of results) {
        expect({ status: r.status, text: r.status === 200 ? '' : r.text }).toEqual({ status: 200, text: '' });
        expect(r.text.trimEnd().endsWith('data: [DONE]')).toBe(true);
      }
      await h.recorder.drain();
      await proxy.restore();

      // The worker drains the fallback (twice: the second run finds nothing to do).
      const recovery = worker.app.get(CallRecoveryService);
      const first = await recovery.recover();
      const second = await recovery.recover();
      // A statement cut off by the deadline may still commit once the link is back: then its
      // fallback copy is a duplicate, skipped by call id.
      expect(first.drained + first.duplicates).toBeGreaterThanOrEqual(results.length);
      expect(second.drained).toBe(0);

      for (const [i, r] of results.entries()) {
        const call = await h.prisma.modelCall.findFirstOrThrow({ where: { requestId: r.requestId!, status: 'success' } });
        expect(call.userId).toBe(tenants[i].userId);
        expect(call.completionTokens).toBeGreaterThan(0);
        const debit = await h.prisma.creditTransaction.findUniqueOrThrow({ where: { modelCallId: call.id } });
        expect(debit.amount.toFixed()).toBe(call.credits.neg().toFixed());
        // The books: the balance is the grant minus every call's credits, each debited once.
        const all = await h.prisma.modelCall.aggregate({ where: { userId: tenants[i].userId }, _sum: { credits: true } });
        const debits = await h.prisma.creditTransaction.aggregate({
          where: { userId: tenants[i].userId, type: 'debit' },
          _sum: { amount: true },
        });
        expect(debits._sum.amount!.neg().toFixed()).toBe(all._sum.credits!.toFixed());
        expect((await h.ledger.balance(tenants[i].userId)).toFixed()).toBe(new Decimal(100000).sub(all._sum.credits!).toFixed());
      }
      // A hold whose statement was cut off by its deadline may have committed once the link came
      // back: nobody renews it, so after its lease (CREDIT_HOLD_TTL_SECONDS) the sweep releases it.
      await new Promise((r) => setTimeout(r, 6_200));
      expect((await recovery.recover()).interrupted).toBe(0);
      // The refused call, if it got as far as admission, is recorded (failed, not billed); nothing
      // stays held or pending.
      expect(
        await h.prisma.modelCall.count({ where: { userId: tenants[0].userId, errorCode: 'service_unavailable' } }),
      ).toBeLessThanOrEqual(1);
      expect(await h.prisma.modelCall.count({ where: { userId: tenants[0].userId, credits: { gt: 0 }, status: { not: 'success' } } })).toBe(
        0,
      );
      expect(await h.prisma.pendingDebit.count()).toBe(0);
      const held = await h.prisma.creditAccount.aggregate({ _sum: { held: true } });
      expect((held._sum.held ?? new Decimal(0)).toFixed()).toBe('0');
    });
  }

  it('answers a logged-in management request 503 while the database is away, not 401', async () => {
    const tenant = await createTenant(h, { credits: '1' });
    const token = await h.app.get(JwtService).signAsync({ sub: tenant.userId, sv: 0, jti: randomUUID() });
    // /auth/me answers even before a first password change (this user has none yet)
    const get = () => fetch(`${h.baseUrl}/auth/me`, { headers: { authorization: `Bearer ${token}` } });
    expect((await get()).status).toBe(200);
    await proxy.cut('refuse');
    try {
      const res = await get();
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('1');
      expect(((await res.json()) as { code: string }).code).toBe('service_unavailable');
    } finally {
      await proxy.restore();
    }
    expect((await get()).status).toBe(200);
  });
});
