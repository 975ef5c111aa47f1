import { v7 as uuidv7 } from 'uuid';

/**
 * A new model call id: a UUID of version 7 (RFC 9562), whose first 48 bits are the creation time
 * in milliseconds and whose other 74 variable bits are random (ids made by one process also
 * increase strictly). Every index keyed by a call id (model_calls, credit_holds, pending_debits,
 * credit_transactions.model_call_id) then grows at its right edge, as the call log does, instead of
 * being written at random pages: as those tables outgrow memory, random keys cost page reads and
 * full-page WAL images on every insert (docs/call-recording.md "The record").
 * @returns a lowercase UUID string, e.g. `019ad6a2-52c1-7c3e-9a4b-1f0d2e3c4b5a`
 */
export function newCallId(): string {
  return uuidv7();
}
