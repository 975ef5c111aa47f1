/**
 * An api process killed with SIGKILL mid-stream leaves a row for every call it had admitted: the
 * calls' holds are no longer renewed, and once their lease runs out the worker records each as
 * `interrupted`, billed for its estimated prompt, and releases the hold.
 * Runs the real api as a child process from the compiled build (npm test builds it first).
 */
import { Decimal } from '../../src/common/decimal';
import { CallRecoveryService } from '../../src/model-calls/call-recovery.service';
import { ApiProcess, startApiProcess } from '../support/api-process';
import { createDevProvider, createTenant, Harness, startHarness, Tenant } from '../support/gateway-harness';
import { startTestWorker, TestWorker } from '../support/worker-harness';

describe('api killed mid-call', () => {
  let h: Harness;
  let api: ApiProcess | null = null;
  let worker: TestWorker;

  beforeAll(async () => {
    // The harness provides the database, the provider (its dev upstream) and tenants; the calls go
    // to a separate api process on the same database.
    h = await startHarness('apicrash');
    await createDevProvider(h, { inputRate: '0.5', outputRate: '1.5' });
    worker = await startTestWorker(h.db.url, `tollgate-test-apicrash-w-${Date.now()}`);
  });

  afterAll(async () => {
    if (api && !api.exitInfo) await api.stop(1000);
    await worker?.close();
    await h?.close();
  });

  it('records the calls of a killed api as interrupted and releases their holds', async () => {
    api = await startApiProcess({ databaseUrl: h.db.url, env: { CREDIT_HOLD_TTL_SECONDS: '3' } });
    const tenants: Tenant[] = await Promise.all(Array.from({ length: 5 }, () => createTenant(h, { credits: '100000' })));
    let firstChunks = 0;
    const streams = tenants.map(async (t, i) => {
      const res = await fetch(`${api!.baseUrl}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${t.key}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          model: 'mock-model',
          stream: true,
          messages: [{ role: 'user', content: `crash ${i} #mock:words=200 #mock:chunk-delay=100` }],
        }),
      });
      let text = '';
      try {
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          if (!text) firstChunks++;
          text += Buffer.from(chunk).toString('utf8');
        }
      } catch {
        /* the api died mid-stream */
      }
      return { requestId: res.headers.get('x-request-id'), text };
    });
    for (let i = 0; i < 500 && firstChunks < tenants.length; i++) await new Promise((r) => setTimeout(r, 10));
    expect(firstChunks).toBe(tenants.length);
    api.kill('SIGKILL');
    expect((await api.exited).signal).toBe('SIGKILL');
    const results = await Promise.all(streams);
    for (const r of results) expect(r.text).not.toContain('[DONE]');

    // Nothing recorded yet: the holds are there, still counting against the balances.
    expect(await h.prisma.modelCall.count({ where: { userId: { in: tenants.map((t) => t.userId) } } })).toBe(0);
    expect(await h.prisma.creditHold.count()).toBe(tenants.length);

    // Once the leases run out, the worker's recovery writes the calls (its scheduled job may get
    // there first: count rows, not what this run did).
    const recovery = worker.app.get(CallRecoveryService);
    const written = () => h.prisma.modelCall.count({ where: { status: 'interrupted' } });
    for (let i = 0; i < 100 && (await written()) < tenants.length; i++) {
      await recovery.recover();
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(await written()).toBe(tenants.length);
    for (const [i, r] of results.entries()) {
      const call = await h.prisma.modelCall.findFirstOrThrow({ where: { requestId: r.requestId! } });
      expect(call.userId).toBe(tenants[i].userId);
      expect(call.status).toBe('interrupted');
      expect(call.stream).toBe(true);
      expect(call.promptTokens).toBeGreaterThan(0);
      // Billed for the estimated prompt at the input rate, debited once.
      expect(call.credits.toFixed()).toBe(new Decimal('0.5').mul(call.promptTokens).toFixed());
      const debit = await h.prisma.creditTransaction.findUniqueOrThrow({ where: { modelCallId: call.id } });
      expect(debit.amount.toFixed()).toBe(call.credits.neg().toFixed());
      expect((await h.ledger.balance(tenants[i].userId)).toFixed()).toBe(new Decimal(100000).sub(call.credits).toFixed());
    }
    expect(await h.prisma.creditHold.count()).toBe(0);
    const held = await h.prisma.creditAccount.aggregate({ _sum: { held: true } });
    expect((held._sum.held ?? new Decimal(0)).toFixed()).toBe('0');
  });
});
