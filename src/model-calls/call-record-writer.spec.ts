import { Logger } from '@nestjs/common';
import { Decimal } from '../common/decimal';
import { CallRecord, recordToJson, scrubRecord } from './call-record';
import { CallRecordFallback } from './call-record-fallback';
import { CallRecordWriter } from './call-record-writer';
import { ModelCallRepository } from './model-call.repository';

function record(n: number, overrides: Partial<CallRecord> = {}): CallRecord {
  return {
    id: `call-${n}`,
    userId: 'user-1',
    apiKeyId: 'key-1',
    providerId: 'provider-1',
    credentialId: 'credential-1',
    model: 'mock-model',
    type: 'chatCompletion',
    status: 'success',
    stream: false,
    promptTokens: 10,
    completionTokens: 20,
    usageSource: 'upstream',
    credits: new Decimal('1.5'),
    durationMs: 100,
    appDid: null,
    requestId: `req-${n}`,
    upstreamStatus: 200,
    errorCode: null,
    errorMessage: null,
    createdAt: new Date('2030-01-01T00:00:00Z'),
    billable: true,
    hasHold: true,
    ...overrides,
  };
}

function pgError(code: string, message = `error ${code}`): Error {
  return Object.assign(new Error(message), { code });
}

/**
 * A repository whose insert fails as PostgreSQL would: the whole statement is refused when any
 * row is refused (`refuse` decides per row), or every statement fails with `down` while it is set.
 */
class FakeRepository {
  inserts: CallRecord[][] = [];
  committed: CallRecord[] = [];
  down: Error | null = null;
  refuse: (r: CallRecord) => Error | null = () => null;

  async insert(records: readonly CallRecord[]): Promise<{ inserted: number }> {
    this.inserts.push([...records]);
    if (this.down) throw this.down;
    for (const r of records) {
      const err = this.refuse(r);
      if (err) throw err;
    }
    this.committed.push(...records);
    return { inserted: records.length };
  }
}

class FakeFallback {
  readonly deadKey = 'test:model-calls:dead';
  appended: CallRecord[][] = [];
  dead: { raw: string; reason: string }[] = [];
  down: Error | null = null;

  async append(records: readonly CallRecord[]): Promise<void> {
    if (this.down) throw this.down;
    this.appended.push([...records]);
  }

  async deadLetter(raw: string, reason: string): Promise<void> {
    if (this.down) throw this.down;
    this.dead.push({ raw, reason });
  }
}

describe('CallRecordWriter', () => {
  let repo: FakeRepository;
  let fallback: FakeFallback;
  let writer: CallRecordWriter;

  beforeAll(() => Logger.overrideLogger(false));

  beforeEach(() => {
    jest.useFakeTimers({ now: new Date('2030-01-01T00:00:00Z') });
    repo = new FakeRepository();
    fallback = new FakeFallback();
    writer = new CallRecordWriter(repo as unknown as ModelCallRepository, fallback as unknown as CallRecordFallback);
  });

  afterEach(() => jest.useRealTimers());

  it('writes a healthy batch in one statement', async () => {
    const batch = [1, 2, 3].map((n) => record(n));
    await expect(writer.write(batch)).resolves.toEqual(['written', 'written', 'written']);
    expect(repo.inserts).toEqual([batch]);
    expect(fallback.appended).toEqual([]);
  });

  it('splits a batch with one row refused by a data error and scrubs only that row', async () => {
    const batch = [0, 1, 2, 3, 4, 5, 6, 7].map((n) => record(n, { errorMessage: n === 5 ? 'bad\u0001text' : 'fine' }));
    // the text is refused, its scrubbed replacement is not
    repo.refuse = (r) => (r.errorMessage?.includes('bad') ? pgError('22000', 'invalid byte sequence') : null);
    const outcomes = await writer.write(batch);
    expect(outcomes).toEqual(['written', 'written', 'written', 'written', 'written', 'scrubbed', 'written', 'written']);
    // every other row is committed as it was, the bad one scrubbed, each exactly once
    expect(repo.committed.map((r) => r.id).sort()).toEqual(batch.map((r) => r.id).sort());
    for (const r of repo.committed) {
      if (r.id === 'call-5') expect(r).toEqual(scrubRecord(batch[5]));
      else expect(r).toBe(batch[Number(r.id.slice(5))]);
    }
    // halves: [0..7] ✗ → [0..3] ✓, [4..7] ✗ → [4,5] ✗ → [4] ✓, [5] ✗ → scrubbed [5] ✓; [6,7] ✓
    expect(repo.inserts.map((b) => b.map((r) => r.id.slice(5)).join(''))).toEqual(['01234567', '0123', '4567', '45', '4', '5', '5', '67']);
    expect(fallback.appended).toEqual([]);
    expect(fallback.dead).toEqual([]);
  });

  it('isolates several bad rows (integrity errors count as data errors too)', async () => {
    const batch = [0, 1, 2, 3, 4].map((n) => record(n, { model: n === 0 || n === 3 ? 'bad model' : 'mock-model' }));
    repo.refuse = (r) => (r.model === 'bad model' ? pgError('23503', 'violates foreign key constraint') : null);
    await expect(writer.write(batch)).resolves.toEqual(['scrubbed', 'written', 'written', 'scrubbed', 'written']);
    expect(repo.committed.filter((r) => r.model === 'unrecordable-model-name').map((r) => r.id)).toEqual(['call-0', 'call-3']);
  });

  it('dead-letters a row refused even scrubbed, with the original record and both reasons', async () => {
    const batch = [record(1), record(2, { userId: 'deleted-user' }), record(3)];
    repo.refuse = (r) => (r.userId === 'deleted-user' ? pgError('23503', 'user does not exist') : null);
    await expect(writer.write(batch)).resolves.toEqual(['written', 'dead', 'written']);
    expect(fallback.dead).toHaveLength(1);
    expect(fallback.dead[0].raw).toBe(recordToJson(batch[1]));
    expect(fallback.dead[0].reason).toBe('user does not exist; scrubbed: user does not exist');
    expect(repo.committed.map((r) => r.id)).toEqual(['call-1', 'call-3']);
  });

  it('answers an Error for a row it could neither write nor dead-letter', async () => {
    const batch = [record(1), record(2, { userId: 'deleted-user' })];
    repo.refuse = (r) => (r.userId === 'deleted-user' ? pgError('23503') : null);
    const redisDown = new Error('Redis write timed out');
    fallback.down = redisDown;
    const outcomes = await writer.write(batch);
    expect(outcomes[0]).toBe('written');
    expect(outcomes[1]).toBe(redisDown);
  });

  it('sends the scrubbed row to the fallback when PostgreSQL goes away meanwhile', async () => {
    const batch = [record(1, { errorMessage: 'bad' })];
    let calls = 0;
    repo.insert = async (records) => {
      repo.inserts.push([...records]);
      if (++calls === 1) throw pgError('22021', 'invalid byte sequence');
      throw pgError('ECONNRESET', 'read ECONNRESET');
    };
    await expect(writer.write(batch)).resolves.toEqual(['fallback']);
    expect(fallback.appended).toEqual([[scrubRecord(batch[0])]]);
  });

  it('sends a batch to the fallback on a connection error, and the next second of batches straight there', async () => {
    repo.down = pgError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432');
    const first = [record(1), record(2)];
    await expect(writer.write(first)).resolves.toEqual(['fallback', 'fallback']);
    expect(repo.inserts).toHaveLength(1);
    expect(fallback.appended).toEqual([first]);

    // PostgreSQL is back, but for the next second nothing tries it
    repo.down = null;
    jest.advanceTimersByTime(999);
    const second = [record(3)];
    await expect(writer.write(second)).resolves.toEqual(['fallback']);
    expect(repo.inserts).toHaveLength(1);
    expect(fallback.appended).toEqual([first, second]);

    // after it, PostgreSQL again
    jest.advanceTimersByTime(1);
    await expect(writer.write([record(4)])).resolves.toEqual(['written']);
    expect(repo.inserts).toHaveLength(2);
    expect(repo.committed.map((r) => r.id)).toEqual(['call-4']);
  });

  it('treats any other failure of the statement like an outage (no split)', async () => {
    repo.down = pgError('42P01', 'relation "model_calls" does not exist');
    await expect(writer.write([record(1), record(2), record(3)])).resolves.toEqual(['fallback', 'fallback', 'fallback']);
    expect(repo.inserts).toHaveLength(1);
    repo.down = null;
    await expect(writer.write([record(4)])).resolves.toEqual(['fallback']);
    expect(repo.inserts).toHaveLength(1);
  });

  it('answers Errors when PostgreSQL and Redis both fail', async () => {
    repo.down = pgError('ECONNREFUSED');
    const redisDown = new Error('Redis write timed out');
    fallback.down = redisDown;
    const outcomes = await writer.write([record(1), record(2)]);
    expect(outcomes).toEqual([redisDown, redisDown]);
    expect(outcomes.every((o) => o instanceof Error)).toBe(true);
    // still within the backoff: Errors again without trying PostgreSQL
    await expect(writer.write([record(3)])).resolves.toEqual([redisDown]);
    expect(repo.inserts).toHaveLength(1);
  });
});
