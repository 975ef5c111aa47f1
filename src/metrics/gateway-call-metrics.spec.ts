import { HttpAdapterHost } from '@nestjs/core';
import { Decimal } from '../common/decimal';
import { CallRecord } from '../model-calls/call-record';
import { RecordOutcome } from '../model-calls/call-record-writer';
import { CallRecorder } from '../model-calls/call-recorder.service';
import { CatalogService, ModelRoute } from '../providers/catalog.service';
import { Registry } from 'prom-client';
import { DeferredCounter } from './deferred-counter';
import { GatewayCallMetrics } from './gateway-call-metrics';
import { HttpMetricsHook, METRICS_ROUTE } from './http-metrics.hook';
import { MetricsRegistry } from './metrics-registry';

function route(providerId: string, providerName: string, model: string): ModelRoute {
  return { provider: { id: providerId, name: providerName }, model } as unknown as ModelRoute;
}

function record(over: Partial<CallRecord> = {}): CallRecord {
  return {
    id: 'c1',
    providerId: 'p1',
    model: 'mock-model',
    status: 'success',
    stream: false,
    promptTokens: 10,
    completionTokens: 5,
    credits: new Decimal('0.5'),
    billable: true,
    upstreamTiming: { totalMs: 300, firstByteMs: 100 },
    ...over,
  } as CallRecord;
}

/** The value of one sample of the registry, 0 when absent. */
async function sample(metrics: MetricsRegistry, name: string, labels: Record<string, string>): Promise<number> {
  for (const m of await metrics.registry.getMetricsAsJSON()) {
    for (const v of m.values as { metricName?: string; labels: Record<string, string | number>; value: number }[]) {
      const own = v.metricName ?? m.name;
      const want = Object.entries(labels);
      const got = Object.entries(v.labels);
      if (own === name && want.length === got.length && want.every(([k, x]) => String(v.labels[k]) === x)) return v.value;
    }
  }
  return 0;
}

function setup(routes: () => Promise<readonly ModelRoute[]>) {
  let listener: (r: CallRecord, o: RecordOutcome) => void = () => undefined;
  const recorder = { onRecorded: (l: typeof listener) => (listener = l) } as unknown as CallRecorder;
  const lookups = jest.fn(routes);
  const metrics = new MetricsRegistry();
  const gm = new GatewayCallMetrics(recorder, { routes: lookups } as unknown as CatalogService, metrics);
  gm.onModuleInit();
  return { metrics, gm, lookups, announce: (r: CallRecord, o: RecordOutcome = 'written') => listener(r, o) };
}

const calls = (provider: string, model: string, status = 'success') => ({ provider, model, status });

describe('GatewayCallMetrics', () => {
  it('counts calls, tokens, credits and timings under the routing table names; one table lookup per batch', async () => {
    const table = [route('p1', 'devup', 'mock-model')];
    const { metrics, gm, lookups, announce } = setup(async () => table);
    announce(record());
    announce(record({ model: 'random-name', status: 'failed', stream: true, upstreamTiming: { totalMs: 2000, firstByteMs: null } }));
    announce(record({ providerId: null, promptTokens: 0, completionTokens: 0, billable: false, upstreamTiming: null }), 'fallback');
    await gm.settled();
    expect(lookups).toHaveBeenCalledTimes(1);
    expect(await sample(metrics, 'tollgate_gateway_calls_total', calls('devup', 'mock-model'))).toBe(1);
    expect(await sample(metrics, 'tollgate_gateway_calls_total', calls('devup', 'other', 'failed'))).toBe(1);
    expect(await sample(metrics, 'tollgate_gateway_calls_total', calls('none', 'other'))).toBe(1);
    expect(await sample(metrics, 'tollgate_gateway_tokens_total', { provider: 'devup', model: 'mock-model', kind: 'prompt' })).toBe(10);
    expect(await sample(metrics, 'tollgate_gateway_tokens_total', { provider: 'devup', model: 'other', kind: 'completion' })).toBe(5);
    expect(await sample(metrics, 'tollgate_gateway_credits_total', { provider: 'devup', model: 'mock-model' })).toBe(0.5);
    expect(await sample(metrics, 'tollgate_gateway_upstream_seconds_count', { provider: 'devup', stream: 'false' })).toBe(1);
    expect(await sample(metrics, 'tollgate_gateway_upstream_seconds_sum', { provider: 'devup', stream: 'true' })).toBe(2);
    expect(await sample(metrics, 'tollgate_gateway_upstream_first_byte_seconds_count', { provider: 'devup', stream: 'true' })).toBe(0);
    expect(await sample(metrics, 'tollgate_call_records_total', { outcome: 'written' })).toBe(2);
    expect(await sample(metrics, 'tollgate_call_records_total', { outcome: 'fallback' })).toBe(1);

    announce(record());
    await gm.settled();
    expect(lookups).toHaveBeenCalledTimes(2);
    expect(await sample(metrics, 'tollgate_gateway_calls_total', calls('devup', 'mock-model'))).toBe(2);
  });

  it('keeps counting through its cached series after a reset of the registry', async () => {
    const table = [route('p1', 'devup', 'mock-model')];
    const { metrics, gm, announce } = setup(async () => table);
    announce(record());
    await gm.settled();
    metrics.registry.resetMetrics();
    expect(await sample(metrics, 'tollgate_gateway_calls_total', calls('devup', 'mock-model'))).toBe(0);
    announce(record());
    announce(record());
    await gm.settled();
    expect(await sample(metrics, 'tollgate_gateway_calls_total', calls('devup', 'mock-model'))).toBe(2);
    expect(await sample(metrics, 'tollgate_gateway_tokens_total', { provider: 'devup', model: 'mock-model', kind: 'prompt' })).toBe(20);
    expect(await sample(metrics, 'tollgate_gateway_upstream_seconds_count', { provider: 'devup', stream: 'false' })).toBe(2);
    expect(await sample(metrics, 'tollgate_call_records_total', { outcome: 'written' })).toBe(2);
  });

  it('names calls after the current routing table, and the last one known while it cannot be loaded', async () => {
    let table: readonly ModelRoute[] = [route('p1', 'devup', 'mock-model')];
    let down = false;
    const { metrics, gm, announce } = setup(async () => {
      if (down) throw new Error('PostgreSQL away');
      return table;
    });
    announce(record());
    await gm.settled();
    table = [route('p1', 'renamed', 'mock-model'), route('p1', 'renamed', 'new-model')];
    announce(record({ model: 'new-model' }));
    await gm.settled();
    expect(await sample(metrics, 'tollgate_gateway_calls_total', calls('renamed', 'new-model'))).toBe(1);
    down = true;
    announce(record());
    await gm.settled();
    expect(await sample(metrics, 'tollgate_gateway_calls_total', calls('renamed', 'mock-model'))).toBe(1);
    expect(await sample(metrics, 'tollgate_gateway_calls_total', calls('devup', 'mock-model'))).toBe(1);
  });

  it('settled() waits for the calls waiting on a table load, those recorded during it included', async () => {
    let release: (routes: readonly ModelRoute[]) => void = () => undefined;
    const { metrics, gm, lookups, announce } = setup(() => new Promise((resolve) => (release = resolve)));
    announce(record());
    let settled = false;
    const done = gm.settled().then(() => (settled = true));
    announce(record());
    await new Promise((resolve) => setImmediate(resolve));
    expect(settled).toBe(false);
    release([route('p1', 'devup', 'mock-model')]);
    await done;
    expect(lookups).toHaveBeenCalledTimes(1);
    expect(await sample(metrics, 'tollgate_gateway_calls_total', calls('devup', 'mock-model'))).toBe(2);
  });
});

describe('DeferredCounter', () => {
  const counter = () => {
    const registry = new Registry();
    const c = new DeferredCounter({ name: 'test_total', help: 'test', labelNames: ['kind'], registers: [registry] });
    const value = async (kind: string) => (await c.get()).values.find((v) => v.labels.kind === kind)?.value;
    return { registry, c, value };
  };

  it('adds what its cells count when read, once, alongside inc()', async () => {
    const { registry, c, value } = counter();
    const a = c.cell({ kind: 'a' });
    expect(c.cell({ kind: 'a' })).toBe(a);
    a.n += 2;
    c.inc({ kind: 'a' }, 3);
    expect(await value('a')).toBe(5);
    expect(await value('a')).toBe(5);
    a.n++;
    expect(await registry.metrics()).toContain('test_total{kind="a"} 6');
  });

  it('drops what is pending with a reset, and applies it before a remove', async () => {
    const { registry, c, value } = counter();
    const a = c.cell({ kind: 'a' });
    const b = c.cell({ kind: 'b' });
    a.n += 4;
    registry.resetMetrics();
    expect(await value('a')).toBeUndefined();
    a.n++;
    b.n += 2;
    c.remove({ kind: 'b' });
    expect(await value('a')).toBe(1);
    expect(await value('b')).toBeUndefined();
    b.n++;
    expect(await value('b')).toBe(1);
  });
});

describe('HttpMetricsHook.record', () => {
  const hook = (metrics: MetricsRegistry) => new HttpMetricsHook({} as HttpAdapterHost, metrics);

  it('counts and times requests by method, route and status, and keeps counting after a reset', async () => {
    const metrics = new MetricsRegistry();
    const http = hook(metrics);
    http.record('POST', '/v1/chat/completions', 200, 0.25);
    http.record('post', '/v1/chat/completions', 200, 0.5);
    http.record('POST', '/v1/chat/completions', 502, 1);
    http.record('PROPFIND', undefined, 1000, 0.001);
    http.record('GET', METRICS_ROUTE, 200, 0.01);
    const requests = (method: string, route: string, status: string) =>
      sample(metrics, 'tollgate_http_requests_total', { method, route, status });
    expect(await requests('POST', '/v1/chat/completions', '200')).toBe(2);
    expect(await requests('POST', '/v1/chat/completions', '502')).toBe(1);
    expect(await requests('other', 'unmatched', 'other')).toBe(1);
    expect(await requests('GET', METRICS_ROUTE, '200')).toBe(0);
    expect(await sample(metrics, 'tollgate_http_request_duration_seconds_sum', { method: 'POST', route: '/v1/chat/completions' })).toBe(
      1.75,
    );
    metrics.registry.resetMetrics();
    http.record('POST', '/v1/chat/completions', 200, 0.25);
    expect(await requests('POST', '/v1/chat/completions', '200')).toBe(1);
    expect(await requests('POST', '/v1/chat/completions', '502')).toBe(0);
  });

  it('keeps counting once its cache of series starts over', async () => {
    const metrics = new MetricsRegistry();
    const http = hook(metrics);
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 3000; i++) http.record('GET', `/r${i}`, 200, 0.01);
    }
    expect(await sample(metrics, 'tollgate_http_requests_total', { method: 'GET', route: '/r0', status: '200' })).toBe(2);
    expect(await sample(metrics, 'tollgate_http_requests_total', { method: 'GET', route: '/r2999', status: '200' })).toBe(2);
    expect(await sample(metrics, 'tollgate_http_request_duration_seconds_count', { method: 'GET', route: '/r1500' })).toBe(2);
  });
});
