/**
 * Model rates: per-provider rates, bulk add, list with filters, the bulk rate update
 * (exact decimal arithmetic, one transaction, history) and the price import from the
 * @pydantic/genai-prices catalog (its real bundled data).
 */
import request from 'supertest';
import { Client } from 'pg';
import { PriceImportService } from '../src/providers/price-import.service';
import { parseArgs } from '../src/cli/import-prices';
import { Harness, startHarness } from './support/gateway-harness';

const PASSWORD = 'model rates password 1234';

describe('model rates', () => {
  let h: Harness;
  let admin: string;
  let user: string;
  let pg: Client;
  const as = (t: string) => ({ authorization: `Bearer ${t}` });
  const login = async (l: string) =>
    (await request(h.baseUrl).post('/auth/login').send({ login: l, password: PASSWORD }).expect(200)).body.accessToken as string;
  const provider = async (name: string, displayName = name) =>
    (await h.providers.createProvider({ name, displayName, baseUrl: 'http://127.0.0.1:9/v1' })).id;
  const dbRate = async (id: string) =>
    (
      await pg.query(
        'SELECT input_rate::text, output_rate::text, input_unit_cost::text, output_unit_cost::text FROM model_rates WHERE id = $1',
        [id],
      )
    ).rows[0];

  beforeAll(async () => {
    h = await startHarness('model_rates');
    await h.users.create({ email: 'admin@example.com', role: 'admin', password: PASSWORD });
    await h.users.create({ email: 'user@example.com', password: PASSWORD });
    admin = await login('admin@example.com');
    user = await login('user@example.com');
    pg = new Client({ connectionString: h.db.url });
    await pg.connect();
  });

  afterAll(async () => {
    await pg?.end();
    await h?.close();
  });

  it('adds, lists (any user), updates and deletes a rate; documented body shape (docs/api/providers.md); decimals kept exactly', async () => {
    const p = await provider('anthropic', 'Anthropic');
    await request(h.baseUrl).post(`/ai-providers/${p}/model-rates`).send({ model: 'm', inputRate: 1, outputRate: 1 }).expect(401);
    await request(h.baseUrl)
      .post(`/ai-providers/${p}/model-rates`)
      .set(as(user))
      .send({ model: 'm', inputRate: 1, outputRate: 1 })
      .expect(403);
    const res = await request(h.baseUrl)
      .post(`/ai-providers/${p}/model-rates`)
      .set(as(admin))
      .send({
        model: 'claude-3-opus-20240229',
        type: 'chatCompletion',
        inputRate: 15,
        outputRate: 75,
        unitCosts: { input: 0.000015, output: 0.000075 },
        modelMetadata: { maxTokens: 200000, features: ['tools'] },
      })
      .expect(201);
    expect(res.body).toMatchObject({
      providerId: p,
      model: 'claude-3-opus-20240229',
      type: 'chatCompletion',
      inputRate: 15,
      outputRate: 75,
      unitCosts: { input: 0.000015, output: 0.000075 },
      modelMetadata: { maxTokens: 200000, features: ['tools'] },
      enabled: true,
    });
    expect(await dbRate(res.body.id)).toEqual({
      input_rate: '15.000000000000000000',
      output_rate: '75.000000000000000000',
      input_unit_cost: '0.000015000000000000',
      output_unit_cost: '0.000075000000000000',
    });

    const dup = await request(h.baseUrl)
      .post(`/ai-providers/${p}/model-rates`)
      .set(as(admin))
      .send({ model: 'claude-3-opus-20240229', inputRate: 1, outputRate: 1 })
      .expect(409);
    expect(dup.body.code).toBe('model_rate_exists');
    const bad = await request(h.baseUrl)
      .post(`/ai-providers/${p}/model-rates`)
      .set(as(admin))
      .send({ model: 'x', type: 'video', inputRate: -1, outputRate: 'abc', unitCosts: { input: 1 } })
      .expect(400);
    expect(bad.body.errors.map((e: { field: string }) => e.field).sort()).toEqual(['inputRate', 'outputRate', 'type', 'unitCosts.output']);

    const list = await request(h.baseUrl).get(`/ai-providers/${p}/model-rates`).set(as(user)).expect(200);
    expect(list.body.map((r: { model: string }) => r.model)).toEqual(['claude-3-opus-20240229']);
    expect(
      (await request(h.baseUrl).get('/ai-providers/00000000-0000-4000-8000-000000000000/model-rates').set(as(user)).expect(404)).body.code,
    ).toBe('provider_not_found');

    // a string keeps every digit (beyond a double's precision)
    const up = await request(h.baseUrl)
      .put(`/ai-providers/${p}/model-rates/${res.body.id}`)
      .set(as(admin))
      .send({ inputRate: '0.123456789012345678', reason: 'price change' })
      .expect(200);
    expect(up.body.outputRate).toBe(75);
    expect((await dbRate(res.body.id)).input_rate).toBe('0.123456789012345678');
    const other = await provider('other');
    await request(h.baseUrl).put(`/ai-providers/${other}/model-rates/${res.body.id}`).set(as(admin)).send({ inputRate: 1 }).expect(404);
    await request(h.baseUrl).put(`/ai-providers/${p}/model-rates/${res.body.id}`).set(as(user)).send({ inputRate: 1 }).expect(403);
    await request(h.baseUrl).delete(`/ai-providers/${p}/model-rates/${res.body.id}`).set(as(admin)).expect(204);
    expect((await request(h.baseUrl).delete(`/ai-providers/${p}/model-rates/${res.body.id}`).set(as(admin)).expect(404)).body.code).toBe(
      'model_rate_not_found',
    );
  });

  it('POST /ai-providers/model-rates adds one rate to several providers, all or nothing', async () => {
    const [a, b, c] = [await provider('groq-a'), await provider('groq-b'), await provider('groq-c')];
    const body = { model: 'llama3-70b-8192', type: 'chatCompletion', inputRate: 1, outputRate: 1 };
    const ok = await request(h.baseUrl)
      .post('/ai-providers/model-rates')
      .set(as(admin))
      .send({ ...body, providers: [a, b] })
      .expect(201);
    expect(ok.body.map((r: { providerId: string }) => r.providerId).sort()).toEqual([a, b].sort());
    // c is new but b has it already: nothing is added
    const conflict = await request(h.baseUrl)
      .post('/ai-providers/model-rates')
      .set(as(admin))
      .send({ ...body, providers: [c, b] })
      .expect(409);
    expect(conflict.body).toMatchObject({ code: 'model_rate_exists', providerIds: [b] });
    const missing = '00000000-0000-4000-8000-000000000000';
    const nf = await request(h.baseUrl)
      .post('/ai-providers/model-rates')
      .set(as(admin))
      .send({ ...body, model: 'new-model', providers: [c, missing] })
      .expect(404);
    expect(nf.body).toMatchObject({ code: 'provider_not_found', providerIds: [missing] });
    expect(await h.prisma.modelRate.count({ where: { providerId: c } })).toBe(0);
    const bad = await request(h.baseUrl)
      .post('/ai-providers/model-rates')
      .set(as(admin))
      .send({ ...body, providers: [] })
      .expect(400);
    expect(bad.body.errors[0].field).toBe('providers');
    await request(h.baseUrl)
      .post('/ai-providers/model-rates')
      .set(as(user))
      .send({ ...body, providers: [c] })
      .expect(403);
  });

  it('GET /ai-providers/model-rates pages and filters by provider list and model substring', async () => {
    const p1 = await provider('list-one');
    const p2 = await provider('list-two');
    for (const m of ['gpt-4o', 'gpt-4o-mini', 'text-embedding-3-small'])
      await h.providers.addModelRate(p1, { model: m, inputRate: '1', outputRate: '1' });
    await h.providers.addModelRate(p2, { model: 'gpt-4o', inputRate: '2', outputRate: '2' });
    const all = await request(h.baseUrl).get(`/ai-providers/model-rates?providerId=${p1},${p2}`).set(as(user)).expect(200);
    expect(all.body.count).toBe(4);
    expect(all.body.paging).toEqual({ page: 1, pageSize: 50 });
    expect(all.body.list[0]).toMatchObject({ model: 'gpt-4o', provider: { id: p1, name: 'list-one' } });
    const page2 = await request(h.baseUrl)
      .get(`/ai-providers/model-rates?providerId=${p1},${p2}&page=2&pageSize=3`)
      .set(as(user))
      .expect(200);
    expect(page2.body).toMatchObject({ count: 4, paging: { page: 2, pageSize: 3 } });
    expect(page2.body.list.map((r: { provider: { name: string }; model: string }) => `${r.provider.name}/${r.model}`)).toEqual([
      'list-two/gpt-4o',
    ]);
    const search = await request(h.baseUrl).get(`/ai-providers/model-rates?model=GPT-4O&providerId=${p1}`).set(as(user)).expect(200);
    expect(search.body.list.map((r: { model: string }) => r.model)).toEqual(['gpt-4o', 'gpt-4o-mini']);
    const bad = await request(h.baseUrl).get('/ai-providers/model-rates?providerId=abc&pageSize=1000').set(as(user)).expect(400);
    expect(bad.body.errors.map((e: { field: string }) => e.field)).toEqual(['pageSize']);
    expect((await request(h.baseUrl).get('/ai-providers/model-rates?providerId=abc').set(as(user)).expect(400)).body.errors[0].field).toBe(
      'providerId',
    );
    await request(h.baseUrl).get('/ai-providers/model-rates').expect(401);
  });

  it('bulk rate update: rate = unitCost × (1 + margin/100) / creditPrice, exactly, for every priced rate; others skipped; history kept', async () => {
    await pg.query('DELETE FROM model_rates');
    const p = await provider('openai-bulk', 'OpenAI');
    const a = await h.providers.addModelRate(p, {
      model: 'gpt-4',
      inputRate: '10',
      outputRate: '30',
      inputUnitCost: '0.00003',
      outputUnitCost: '0.00006',
    });
    const b = await h.providers.addModelRate(p, {
      model: 'odd',
      inputRate: '1',
      outputRate: '1',
      inputUnitCost: '0.000002',
      outputUnitCost: '0.0000001',
    });
    const c = await h.providers.addModelRate(p, { model: 'unpriced', inputRate: '5', outputRate: '6' });
    const e = await h.providers.addModelRate(p, {
      model: 'embed',
      type: 'embedding',
      inputRate: '1',
      outputRate: '0',
      inputUnitCost: '0.00000002',
      outputUnitCost: '0',
    });

    await request(h.baseUrl)
      .post('/ai-providers/bulk-rate-update')
      .set(as(user))
      .send({ profitMargin: 20, creditPrice: 0.00001 })
      .expect(403);
    const bad = await request(h.baseUrl)
      .post('/ai-providers/bulk-rate-update')
      .set(as(admin))
      .send({ profitMargin: 'x', creditPrice: 0 })
      .expect(400);
    expect(bad.body.errors.map((x: { field: string }) => x.field).sort()).toEqual(['creditPrice', 'profitMargin']);

    const res = await request(h.baseUrl)
      .post('/ai-providers/bulk-rate-update')
      .set(as(admin))
      .send({ profitMargin: 20, creditPrice: 0.000003 })
      .expect(200);
    expect(res.body).toMatchObject({
      message: 'Successfully updated 3 model rates',
      updated: 3,
      skipped: 1,
      parameters: { profitMargin: 20, creditPrice: 0.000003 },
    });
    const byModel = Object.fromEntries(res.body.summary.map((s: { model: string }) => [s.model, s]));
    expect(byModel['gpt-4']).toEqual({
      id: a.id,
      model: 'gpt-4',
      provider: 'OpenAI',
      oldInputRate: 10,
      newInputRate: 12,
      oldOutputRate: 30,
      newOutputRate: 24,
    });
    // 0.00003 × 1.2 / 0.000003 = 12 exactly (floats give 11.999999999999998)
    expect(await dbRate(a.id)).toMatchObject({ input_rate: '12.000000000000000000', output_rate: '24.000000000000000000' });
    // 0.000002 × 1.2 / 0.000003 = 0.8; 0.0000001 × 1.2 / 0.000003 = 0.04
    expect(await dbRate(b.id)).toMatchObject({ input_rate: '0.800000000000000000', output_rate: '0.040000000000000000' });
    expect(await dbRate(e.id)).toMatchObject({ input_rate: '0.008000000000000000', output_rate: '0.000000000000000000' });
    expect(await dbRate(c.id)).toMatchObject({ input_rate: '5.000000000000000000', output_rate: '6.000000000000000000' });

    // non-terminating quotient: rounded half up at 18 places
    await request(h.baseUrl)
      .post('/ai-providers/bulk-rate-update')
      .set(as(admin))
      .send({ profitMargin: 0, creditPrice: '0.0000003' })
      .expect(200);
    expect(await dbRate(b.id)).toMatchObject({ input_rate: '6.666666666666666667', output_rate: '0.333333333333333333' });

    const hist = await request(h.baseUrl).get(`/ai-providers/rate-history?rateId=${a.id}`).set(as(admin)).expect(200);
    expect(hist.body.count).toBe(2);
    expect(hist.body.list[1]).toMatchObject({
      action: 'bulk-rate-update',
      oldInputRate: 10,
      newInputRate: 12,
      oldOutputRate: 30,
      newOutputRate: 24,
      parameters: { profitMargin: '20', creditPrice: '0.000003' },
      changedBy: { email: 'admin@example.com' },
    });
    expect(hist.body.list[0]).toMatchObject({ action: 'bulk-rate-update', oldInputRate: 12, newInputRate: 100 }); // 0.00003 / 0.0000003
    await request(h.baseUrl).get('/ai-providers/rate-history').set(as(user)).expect(403);
  });

  it('bulk rate update is all or nothing: a rate that would overflow leaves every rate unchanged', async () => {
    await pg.query('DELETE FROM model_rates');
    const p = await provider('overflow');
    const ok = await h.providers.addModelRate(p, {
      model: 'a',
      inputRate: '1',
      outputRate: '1',
      inputUnitCost: '0.000001',
      outputUnitCost: '0.000001',
    });
    await h.providers.addModelRate(p, { model: 'z', inputRate: '1', outputRate: '1', inputUnitCost: '99999', outputUnitCost: '1' });
    const res = await request(h.baseUrl)
      .post('/ai-providers/bulk-rate-update')
      .set(as(admin))
      .send({ profitMargin: 0, creditPrice: '0.000000000000000001' })
      .expect(400);
    expect(res.body.code).toBe('rate_out_of_range');
    expect(await dbRate(ok.id)).toMatchObject({ input_rate: '1.000000000000000000' });
  });

  it('rate history records create/update/delete with who and why', async () => {
    const p = await provider('hist');
    const r = (
      await request(h.baseUrl)
        .post(`/ai-providers/${p}/model-rates`)
        .set(as(admin))
        .send({ model: 'h1', inputRate: 1, outputRate: 2 })
        .expect(201)
    ).body;
    await request(h.baseUrl)
      .put(`/ai-providers/${p}/model-rates/${r.id}`)
      .set(as(admin))
      .send({ outputRate: 3, reason: 'vendor raised prices' })
      .expect(200);
    await request(h.baseUrl).put(`/ai-providers/${p}/model-rates/${r.id}`).set(as(admin)).send({ enabled: false }).expect(200); // no rate change: no row
    await request(h.baseUrl).delete(`/ai-providers/${p}/model-rates/${r.id}`).set(as(admin)).expect(204);
    const hist = await request(h.baseUrl).get(`/ai-providers/rate-history?providerId=${p}&model=h1`).set(as(admin)).expect(200);
    expect(hist.body.list.map((x: { action: string }) => x.action)).toEqual(['delete', 'update', 'create']);
    expect(hist.body.list[1]).toMatchObject({
      reason: 'vendor raised prices',
      oldOutputRate: 2,
      newOutputRate: 3,
      changedBy: { email: 'admin@example.com' },
    });
    expect(hist.body.list[2]).toMatchObject({ oldInputRate: null, newInputRate: 1 });
  });

  it('imports unit costs from the @pydantic/genai-prices catalog (real bundled data); dry run changes nothing', async () => {
    const p = await h.providers.createProvider({ name: 'openai', displayName: 'OpenAI', baseUrl: 'https://api.openai.com/v1' });
    const r4o = await h.providers.addModelRate(p.id, { model: 'gpt-4o', inputRate: '1', outputRate: '1' });
    const dated = await h.providers.addModelRate(p.id, { model: 'gpt-4o-2024-08-06', inputRate: '1', outputRate: '1' });
    const unknown = await h.providers.addModelRate(p.id, { model: 'not-a-real-model-xyz', inputRate: '1', outputRate: '1' });
    const importer = h.app.get(PriceImportService);

    const dry = await importer.import({ provider: 'openai', dryRun: true });
    expect(dry).toMatchObject({ provider: 'openai', catalogProvider: 'openai', dryRun: true, unmatched: ['not-a-real-model-xyz'] });
    expect(dry.updated.map((u) => u.model).sort()).toEqual(['gpt-4o', 'gpt-4o-2024-08-06']);
    expect((await dbRate(r4o.id)).input_unit_cost).toBeNull();

    await importer.import({ provider: 'openai' });
    // gpt-4o: $2.50 / $10 per million tokens in the catalog
    expect(await dbRate(r4o.id)).toMatchObject({ input_unit_cost: '0.000002500000000000', output_unit_cost: '0.000010000000000000' });
    expect(await dbRate(dated.id)).toMatchObject({ input_unit_cost: '0.000002500000000000', output_unit_cost: '0.000010000000000000' });
    expect(await dbRate(unknown.id)).toMatchObject({ input_unit_cost: null, output_unit_cost: null });
    const again = await importer.import({ provider: 'openai' });
    expect(again.updated).toEqual([]);
    expect(again.unchanged.sort()).toEqual(['gpt-4o', 'gpt-4o-2024-08-06']);
    const hist = await request(h.baseUrl).get(`/ai-providers/rate-history?rateId=${r4o.id}`).set(as(admin)).expect(200);
    expect(hist.body.list[0]).toMatchObject({
      action: 'price-import',
      newUnitCosts: { input: 0.0000025, output: 0.00001 },
      changedBy: null,
    });

    await expect(importer.import({ provider: 'nope' })).rejects.toThrow('no provider named "nope"');
    expect(parseArgs(['--provider', 'openai', '--dry-run'])).toEqual({ provider: 'openai', dryRun: true });
    expect(parseArgs(['--dry-run'])).toMatch(/usage/);
    expect(parseArgs(['--provider'])).toMatch(/needs a value/);
  });
});
