import { Decimal } from '../common/decimal';
import { CallRecord, recordFromJson, recordToJson, sanitizeRecord, scrubRecord } from './call-record';

const EMOJI = '\u{1F600}'; // one code point, two UTF-16 code units (a surrogate pair)

function callRecord(overrides: Partial<CallRecord> = {}): CallRecord {
  return {
    id: '6f1c1d2e-0000-4000-8000-000000000001',
    userId: '6f1c1d2e-0000-4000-8000-0000000000aa',
    apiKeyId: '6f1c1d2e-0000-4000-8000-0000000000bb',
    providerId: '6f1c1d2e-0000-4000-8000-0000000000cc',
    credentialId: '6f1c1d2e-0000-4000-8000-0000000000dd',
    model: 'mock-model',
    type: 'chatCompletion',
    status: 'success',
    stream: false,
    promptTokens: 12,
    completionTokens: 34,
    usageSource: 'upstream',
    credits: new Decimal('57.0000000001'),
    durationMs: 250,
    appDid: 'z1appdid',
    requestId: 'req-1',
    upstreamStatus: 200,
    errorCode: null,
    errorMessage: null,
    createdAt: new Date('2030-01-02T03:04:05.678Z'),
    billable: true,
    hasHold: true,
    ...overrides,
  };
}

describe('sanitizeRecord', () => {
  it('leaves a clean record as it is (and does not change its argument)', () => {
    const r = callRecord({ errorCode: 'upstream_error', errorMessage: 'Bad gateway' });
    const copy = { ...r };
    const s = sanitizeRecord(r);
    expect(s).toEqual(r);
    expect(s).not.toBe(r);
    expect(r).toEqual(copy);
  });

  it('removes NUL characters from every text field', () => {
    const s = sanitizeRecord(
      callRecord({
        model: 'mo\u0000del',
        appDid: '\u0000app',
        requestId: 'req\u0000\u0000-1',
        errorCode: 'bad\u0000code',
        errorMessage: 'a\u0000b\u0000c',
      }),
    );
    expect(s).toMatchObject({ model: 'model', appDid: 'app', requestId: 'req-1', errorCode: 'badcode', errorMessage: 'abc' });
  });

  it('keeps nulls null and makes a missing model or request id an empty string', () => {
    const s = sanitizeRecord(
      callRecord({ appDid: null, errorCode: null, errorMessage: null, upstreamStatus: null, model: '\u0000', requestId: '' }),
    );
    expect(s).toMatchObject({ appDid: null, errorCode: null, errorMessage: null, upstreamStatus: null, model: '', requestId: '' });
  });

  it('cuts each text field to its column limit', () => {
    const s = sanitizeRecord(
      callRecord({
        model: 'm'.repeat(300),
        appDid: 'a'.repeat(200),
        requestId: 'r'.repeat(129),
        errorCode: 'c'.repeat(65),
        errorMessage: 'e'.repeat(5000),
      }),
    );
    expect(s.model).toBe('m'.repeat(256));
    expect(s.appDid).toBe('a'.repeat(128));
    expect(s.requestId).toBe('r'.repeat(128));
    expect(s.errorCode).toBe('c'.repeat(64));
    expect(s.errorMessage).toBe('e'.repeat(1000));
    // exactly at the limit: untouched
    expect(sanitizeRecord(callRecord({ model: 'm'.repeat(256) })).model).toHaveLength(256);
  });

  it('counts the limit after removing NULs', () => {
    const s = sanitizeRecord(callRecord({ errorCode: '\u0000'.repeat(10) + 'c'.repeat(64) }));
    expect(s.errorCode).toBe('c'.repeat(64));
  });

  it('never splits a surrogate pair at the cut', () => {
    // the pair straddles the limit: both halves go
    const straddling = sanitizeRecord(callRecord({ errorMessage: 'e'.repeat(999) + EMOJI + 'tail' }));
    expect(straddling.errorMessage).toBe('e'.repeat(999));
    // the pair ends exactly at the limit: it stays whole
    const fitting = sanitizeRecord(callRecord({ errorMessage: 'e'.repeat(998) + EMOJI + 'tail' }));
    expect(fitting.errorMessage).toBe('e'.repeat(998) + EMOJI);
    // the result is well-formed UTF-16 (encodes without replacement characters)
    for (const m of [straddling.errorMessage!, fitting.errorMessage!]) expect(Buffer.from(m, 'utf8').toString('utf8')).toBe(m);
    // same for the short columns
    expect(sanitizeRecord(callRecord({ model: 'm'.repeat(255) + EMOJI })).model).toBe('m'.repeat(255));
    expect(sanitizeRecord(callRecord({ errorCode: EMOJI.repeat(40) })).errorCode).toBe(EMOJI.repeat(32));
    expect(sanitizeRecord(callRecord({ appDid: 'x' + EMOJI.repeat(64) })).appDid).toBe('x' + EMOJI.repeat(63));
  });

  it('clamps token counts to [0, 1e9] and rounds them to integers', () => {
    const s = sanitizeRecord(callRecord({ promptTokens: -5, completionTokens: 5_000_000_000 }));
    expect(s.promptTokens).toBe(0);
    expect(s.completionTokens).toBe(1_000_000_000);
    expect(sanitizeRecord(callRecord({ promptTokens: 2.5, completionTokens: 7.49 }))).toMatchObject({
      promptTokens: 3,
      completionTokens: 7,
    });
    expect(sanitizeRecord(callRecord({ promptTokens: 1_000_000_000, completionTokens: 999_999_999 }))).toMatchObject({
      promptTokens: 1_000_000_000,
      completionTokens: 999_999_999,
    });
  });

  it('clamps duration and upstream status to PostgreSQL integer range; non-finite numbers become 0', () => {
    const s = sanitizeRecord(callRecord({ durationMs: 1e12, upstreamStatus: 2 ** 40 }));
    expect(s.durationMs).toBe(2_147_483_647);
    expect(s.upstreamStatus).toBe(2_147_483_647);
    expect(sanitizeRecord(callRecord({ durationMs: -1, upstreamStatus: -200 }))).toMatchObject({ durationMs: 0, upstreamStatus: 0 });
    expect(
      sanitizeRecord(callRecord({ durationMs: NaN, promptTokens: Infinity, completionTokens: -Infinity, upstreamStatus: NaN })),
    ).toMatchObject({
      durationMs: 0,
      promptTokens: 0,
      completionTokens: 0,
      upstreamStatus: 0,
    });
    expect(sanitizeRecord(callRecord({ durationMs: 12.6 })).durationMs).toBe(13);
  });

  it('passes the other fields through untouched', () => {
    const r = callRecord({ status: 'aborted', stream: true, usageSource: 'tokenizer', billable: false, hasHold: false });
    const s = sanitizeRecord(r);
    for (const k of [
      'id',
      'userId',
      'apiKeyId',
      'providerId',
      'credentialId',
      'type',
      'status',
      'stream',
      'usageSource',
      'credits',
      'createdAt',
      'billable',
      'hasHold',
    ] as const) {
      expect(s[k]).toBe(r[k]);
    }
  });
});

describe('scrubRecord', () => {
  it('replaces free text, drops optional references, keeps what the books need', () => {
    const r = callRecord({
      model: 'bad model name with spaces',
      requestId: 'req id!',
      appDid: 'z1app',
      errorCode: 'upstream_error',
      errorMessage: 'echo of the prompt',
    });
    const s = scrubRecord(r);
    expect(s).toEqual({
      ...r,
      apiKeyId: null,
      providerId: null,
      credentialId: null,
      model: 'unrecordable-model-name',
      appDid: null,
      requestId: 'unrecordable-request-id',
      errorCode: 'record_scrubbed',
      errorMessage: 'The original text of this record could not be stored and was replaced',
    });
    // the books: same id, user, tokens, credits, status, billing
    expect(s).toMatchObject({
      id: r.id,
      userId: r.userId,
      promptTokens: 12,
      completionTokens: 34,
      status: 'success',
      billable: true,
      hasHold: true,
    });
    expect(s.credits.toFixed()).toBe('57.0000000001');
  });

  it('keeps a model name and request id that are plain identifiers', () => {
    const s = scrubRecord(callRecord({ model: 'openai/gpt-4o-mini:2024-07-18@v1+x', requestId: 'req_1.2:3-4' }));
    expect(s.model).toBe('openai/gpt-4o-mini:2024-07-18@v1+x');
    expect(s.requestId).toBe('req_1.2:3-4');
    // too long or empty is not plain
    expect(scrubRecord(callRecord({ model: 'm'.repeat(257) })).model).toBe('unrecordable-model-name');
    expect(scrubRecord(callRecord({ model: '' })).model).toBe('unrecordable-model-name');
    expect(scrubRecord(callRecord({ requestId: 'r'.repeat(129) })).requestId).toBe('unrecordable-request-id');
    // NUL or non-ASCII is not plain either
    expect(scrubRecord(callRecord({ model: 'gpt\u00004' })).model).toBe('unrecordable-model-name');
    expect(scrubRecord(callRecord({ model: `gpt-${EMOJI}` })).model).toBe('unrecordable-model-name');
  });

  it('keeps a null error code null', () => {
    const s = scrubRecord(callRecord({ errorCode: null, errorMessage: null }));
    expect(s.errorCode).toBeNull();
    expect(s.errorMessage).toBe('The original text of this record could not be stored and was replaced');
  });
});

describe('recordToJson / recordFromJson', () => {
  it('round-trips a record: credits exact, dates to the millisecond', () => {
    const r = callRecord({
      credits: new Decimal('123456789012345678.0123456789'),
      errorCode: 'x',
      errorMessage: `line\nwith "quotes" and ${EMOJI}`,
    });
    const json = recordToJson(r);
    const parsed = JSON.parse(json) as Record<string, unknown>;
    expect(parsed.credits).toBe('123456789012345678.0123456789');
    expect(parsed.createdAt).toBe('2030-01-02T03:04:05.678Z');
    const back = recordFromJson(json);
    expect(back).toEqual(r);
    expect(back.credits).toBeInstanceOf(Decimal);
    expect(back.credits.toFixed()).toBe('123456789012345678.0123456789');
    expect(back.createdAt).toBeInstanceOf(Date);
    expect(back.createdAt.getTime()).toBe(r.createdAt.getTime());
  });

  it('keeps tiny and zero credits and null fields', () => {
    for (const credits of ['0', '0.0000000001', '1e-10']) {
      const r = callRecord({
        credits: new Decimal(credits),
        apiKeyId: null,
        providerId: null,
        credentialId: null,
        appDid: null,
        upstreamStatus: null,
      });
      const back = recordFromJson(recordToJson(r));
      expect(back.credits.eq(new Decimal(credits))).toBe(true);
      expect(back).toMatchObject({ apiKeyId: null, providerId: null, credentialId: null, appDid: null, upstreamStatus: null });
    }
    expect(JSON.parse(recordToJson(callRecord({ credits: new Decimal('1e-10') }))).credits).toBe('0.0000000001'); // never exponent notation
  });

  it('refuses malformed input', () => {
    expect(() => recordFromJson('{not json')).toThrow(SyntaxError);
    expect(() => recordFromJson('null')).toThrow('not a call record');
    expect(() => recordFromJson('"a string"')).toThrow('not a call record');
    expect(() => recordFromJson(JSON.stringify({ id: 1, userId: 'u' }))).toThrow('not a call record');
    expect(() => recordFromJson(JSON.stringify({ id: 'x' }))).toThrow('not a call record');
  });
});
