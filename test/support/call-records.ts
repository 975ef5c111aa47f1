/**
 * A finished call as the gateway hands it to the recorder, for tests that write call records
 * directly (ledger, grant expiry, fault isolation): a billed chat completion unless overridden.
 */
import { randomUUID } from 'node:crypto';
import { Decimal } from '../../src/common/decimal';
import { CallRecord } from '../../src/model-calls/call-record';

export function testCallRecord(userId: string, overrides: Partial<CallRecord> = {}): CallRecord {
  const id = overrides.id ?? randomUUID();
  return {
    id,
    userId,
    apiKeyId: null,
    providerId: null,
    credentialId: null,
    model: 'mock-model',
    type: 'chatCompletion',
    status: 'success',
    stream: false,
    promptTokens: 3,
    completionTokens: 2,
    usageSource: 'upstream',
    credits: new Decimal('0.5'),
    durationMs: 1,
    appDid: null,
    requestId: id,
    upstreamStatus: 200,
    errorCode: null,
    errorMessage: null,
    createdAt: new Date(),
    billable: true,
    hasHold: false,
    ...overrides,
  };
}
