/**
 * A storm of parallel calls cannot take a balance below zero when the provider honours the
 * completion bound: a call is admitted only if its worst case fits in what is not held, a call
 * without max_tokens is capped to what the balance affords (and forwarded with that bound), and a
 * call whose own max_tokens does not fit is refused with 402 saying what the balance affords.
 */
import { Decimal } from '../../src/common/decimal';
import { APP_CONFIG } from '../../src/config/config.module';
import { AppConfig } from '../../src/config/app-config';
import { CallRecoveryService } from '../../src/model-calls/call-recovery.service';
import { createDevProvider, createTenant, Harness, startHarness } from '../support/gateway-harness';
import { startTestWorker, TestWorker } from '../support/worker-harness';

describe('overspend under parallel calls', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness('overspend', { CREDIT_HOLD_DEFAULT_COMPLETION_TOKENS: '4096' });
    await createDevProvider(h, { inputRate: '1', outputRate: '1' });
  });

  afterAll(async () => {
    await h?.close();
  });

  const chat = (key: string, body: object) =>
    fetch(`${h.baseUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'mock-model', ...body }),
    });

  it('50 parallel calls without max_tokens on 10,000 credits never go below zero', async () => {
    const tenant = await createTenant(h, { credits: '10000' });
    // Each call would write 3,000 words (far more than the balance pays for) if not bounded.
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        chat(tenant.key, { messages: [{ role: 'user', content: `call ${i} #mock:words=3000` }] }).then(async (r) => ({
          status: r.status,
          body: (await r.json()) as Record<string, unknown>,
        })),
      ),
    );
    await h.recorder.drain();
    // On a loaded machine a record can miss CALL_RECORD_DB_TIMEOUT_MS and go to the Redis fallback,
    // which the worker drains: run that before reading the books.
    const worker: TestWorker = await startTestWorker(h.db.url, h.app.get<AppConfig>(APP_CONFIG).queuePrefix);
    try {
      await worker.app.get(CallRecoveryService).recover();
    } finally {
      await worker.close();
    }
    const balance = await h.ledger.balance(tenant.userId);
    expect(balance.gte(0)).toBe(true);
    const ok = results.filter((r) => r.status === 200);
    const refused = results.filter((r) => r.status === 402);
    expect(ok.length + refused.length).toBe(50);
    expect(ok.length).toBeGreaterThan(0);
    expect(refused.length).toBeGreaterThan(0);
    // Σ debits = balance change, and nothing stays held.
    const debits = await h.prisma.creditTransaction.aggregate({ where: { userId: tenant.userId, type: 'debit' }, _sum: { amount: true } });
    expect(new Decimal(10000).add(debits._sum.amount ?? 0).toFixed()).toBe(balance.toFixed());
    const account = await h.prisma.creditAccount.findUniqueOrThrow({ where: { userId: tenant.userId } });
    expect(account.held.toFixed()).toBe('0');
  });

  it('caps a call without max_tokens to what the balance affords', async () => {
    const tenant = await createTenant(h, { credits: '300' });
    const res = await chat(tenant.key, { messages: [{ role: 'user', content: '#mock:words=3000' }] });
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      choices: { finish_reason: string }[];
      usage: { prompt_tokens: number; completion_tokens: number };
    };
    expect(body.choices[0].finish_reason).toBe('length');
    expect(body.usage.completion_tokens).toBeLessThan(300);
    await h.recorder.drain();
    expect((await h.ledger.balance(tenant.userId)).gte(0)).toBe(true);
  });

  it('refuses a call whose max_tokens does not fit with 402 and the completion tokens the balance affords', async () => {
    const tenant = await createTenant(h, { credits: '300' });
    const res = await chat(tenant.key, { max_tokens: 5000, messages: [{ role: 'user', content: 'hello' }] });
    expect(res.status).toBe(402);
    const body = (await res.json()) as { error: { code: string; message: string; affordable_completion_tokens: number } };
    expect(body.error.code).toBe('insufficient_credits');
    expect(body.error.affordable_completion_tokens).toBeGreaterThan(200);
    expect(body.error.affordable_completion_tokens).toBeLessThan(300);
    expect(body.error.message).toContain(`affords ${body.error.affordable_completion_tokens} completion tokens`);
    // Retrying with what it affords is admitted.
    const retry = await chat(tenant.key, {
      max_tokens: body.error.affordable_completion_tokens,
      messages: [{ role: 'user', content: 'hello' }],
    });
    expect(retry.status).toBe(200);
  });
});
