import { Injectable } from '@nestjs/common';
import { Dispatcher } from 'undici';
import { DomainError } from '../common/domain-error';
import { RouteCredential, RouteProvider } from '../providers/catalog.service';
import { CallAbort } from './call-abort';
import { CallLogger } from './call-context';
import { CredentialPicker } from './credential-picker.service';
import { GatewayErrors } from './openai-error';
import { UpstreamClient } from './upstream-client.service';

/** An upstream answer that the gateway will relay (2xx, or a 4xx that is the client's fault). */
export interface UpstreamAnswer {
  response: Dispatcher.ResponseData;
  credential: RouteCredential;
}

/** Why no upstream answer could be relayed; the call is logged as failed and not billed. */
export class UpstreamFailure extends Error {
  constructor(
    readonly error: DomainError,
    readonly credential: RouteCredential | null,
    readonly upstreamStatus: number | null,
  ) {
    super(error.message);
  }
}

const MAX_ERROR_TEXT = 500;

/**
 * Step 5 of the hot path: sends the call to the provider with a credential chosen by weight.
 * On a connection error or a 5xx (nothing has reached the client yet) it retries once on
 * another credential. Upstream 401/403 mean our credential is bad: the client gets 502, never
 * the provider's auth error. 429 is passed on with Retry-After; other 4xx are relayed as is.
 */
@Injectable()
export class UpstreamForwarder {
  constructor(
    private readonly client: UpstreamClient,
    private readonly picker: CredentialPicker,
  ) {}

  /**
   * Sends `body` (JSON) to the provider's `path`; `log` writes the call's lines (credential failures).
   * @throws UpstreamFailure
   */
  async send(provider: RouteProvider, path: string, body: string, signal: CallAbort, log: CallLogger): Promise<UpstreamAnswer> {
    const creds = this.picker.pick(provider);
    if (creds.length === 0) {
      throw new UpstreamFailure(
        GatewayErrors.upstream('no_active_credential', `Provider '${provider.name}' has no active credential`, 503),
        null,
        null,
      );
    }
    let last: UpstreamFailure | null = null;
    for (const credential of creds) {
      let response: Dispatcher.ResponseData;
      try {
        response = await this.client.request({ baseUrl: provider.baseUrl, path, method: 'POST', secret: credential.secret, body, signal });
      } catch (err) {
        if (signal.aborted)
          throw new UpstreamFailure(GatewayErrors.upstream('client_closed', 'The client closed the connection', 499), credential, null);
        this.picker.failed(credential.id);
        const e = err as Error & { code?: string };
        log.warn(UpstreamForwarder.name, `provider ${provider.name} credential ${credential.name}: ${e.code ?? e.name} ${e.message}`);
        last = new UpstreamFailure(
          GatewayErrors.upstream('upstream_unreachable', `Provider '${provider.name}' could not be reached (${e.code ?? e.name})`),
          credential,
          null,
        );
        continue;
      }
      const status = response.statusCode;
      if (status < 400) {
        this.picker.succeeded(credential.id);
        return { response, credential };
      }
      // A provider may echo the key it was sent; it never goes further than this. Redacted in the
      // whole text before it is cut, so a key cut in half cannot survive.
      const text = (await readAll(response)).split(credential.secret).join('[redacted]');
      if (status >= 500 || status === 401 || status === 403) {
        this.picker.failed(credential.id);
        const auth = status === 401 || status === 403;
        // Auth failures are about our credential, not the client's request: say so, without the
        // provider's text (it describes the credential).
        const message = auth
          ? `Provider '${provider.name}' refused Tollgate's credential (${status}); an admin must fix it`
          : `Provider '${provider.name}' answered ${status}: ${cut(text)}`;
        if (auth) log.warn(UpstreamForwarder.name, `provider ${provider.name} credential ${credential.name} refused: ${status}`);
        last = new UpstreamFailure(GatewayErrors.upstream(auth ? 'upstream_auth_failed' : 'upstream_error', message), credential, status);
        continue; // retry once on another credential
      }
      // 4xx other than auth: the request itself is at fault (or rate limited): relay it.
      const err = relayedError(status, text, response.headers['retry-after']);
      throw new UpstreamFailure(err, credential, status);
    }
    throw last as UpstreamFailure;
  }
}

/** Longest error body read from a provider (bytes); the rest is discarded unread. */
const MAX_ERROR_BODY_BYTES = 64 * 1024;

/** The provider's error body, at most MAX_ERROR_BODY_BYTES of it. */
async function readAll(response: Dispatcher.ResponseData): Promise<string> {
  const parts: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of response.body) {
      parts.push(chunk as Buffer);
      size += (chunk as Buffer).length;
      if (size >= MAX_ERROR_BODY_BYTES) {
        response.body.destroy();
        break;
      }
    }
  } catch {
    /* a broken error body: keep what arrived */
  }
  return Buffer.concat(parts).subarray(0, MAX_ERROR_BODY_BYTES).toString('utf8');
}

function cut(t: string): string {
  return t.length > MAX_ERROR_TEXT ? `${t.slice(0, MAX_ERROR_TEXT)}…` : t;
}

function relayedError(status: number, text: string, retryAfter: string | string[] | undefined): DomainError {
  let message = text;
  let type = 'invalid_request_error';
  let code = status === 429 ? 'rate_limit_exceeded' : 'upstream_rejected';
  let param: string | null = null;
  try {
    const parsed = JSON.parse(text) as { error?: { message?: unknown; type?: unknown; code?: unknown; param?: unknown } };
    if (parsed.error) {
      if (typeof parsed.error.message === 'string') message = parsed.error.message;
      if (typeof parsed.error.type === 'string') type = parsed.error.type;
      if (typeof parsed.error.code === 'string') code = parsed.error.code;
      if (typeof parsed.error.param === 'string') param = parsed.error.param;
    }
  } catch {
    /* not JSON: keep the text */
  }
  const headers: Record<string, string> = {};
  if (typeof retryAfter === 'string') headers['retry-after'] = retryAfter;
  return GatewayErrors.relayed(status, { type, code, message: cut(message), param }, headers);
}
