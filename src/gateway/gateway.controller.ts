import type { IncomingMessage, ServerResponse } from 'node:http';
import { Controller, Get, HttpCode, Post, Req, Res, UseGuards } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { Public } from '../auth/auth.decorators';
import { KeyPrincipal } from '../keys/key-check.service';
import { CallContext, callLogger } from './call-context';
import { GatewayService } from './gateway.service';
import { GatewayRequest, VirtualKeyGuard } from './virtual-key.guard';

const APP_DID_PATTERN = /^[A-Za-z0-9:._-]{1,128}$/;

/**
 * The CallContext of an authenticated /v1 call: its principal, request id, calling application
 * (the `x-app-did` header when well-formed, else null), the raw response the gateway writes, and
 * its logger (callLogger), whose lines show `req`: the raw request, carrying `id` = requestId.
 */
export function callContext(principal: KeyPrincipal, req: IncomingMessage & { id: string }, res: ServerResponse): CallContext {
  const appDid = req.headers['x-app-did'];
  return {
    principal,
    requestId: req.id,
    appDid: typeof appDid === 'string' && APP_DID_PATTERN.test(appDid) ? appDid : null,
    startedAt: Date.now(),
    res,
    log: callLogger(req),
  };
}

function context(req: GatewayRequest, reply: FastifyReply): CallContext {
  const raw = req.raw as IncomingMessage & { id?: string };
  raw.id = String(req.id);
  return callContext(req.principal!, raw as IncomingMessage & { id: string }, reply.hijack().raw);
}

/**
 * OpenAI-compatible endpoints (docs/api/gateway.md). Authenticated by virtual key; errors in OpenAI's shape.
 * The service writes the response itself (streams pass through unbuffered).
 */
@Controller('v1')
@Public() // not the management API's JWT/API-key guard: virtual keys, checked by VirtualKeyGuard
@UseGuards(VirtualKeyGuard)
export class GatewayController {
  constructor(private readonly gateway: GatewayService) {}

  /** OpenAI `POST /v1/chat/completions`, non-streaming or `stream: true` (SSE). */
  @Post('chat/completions')
  chatCompletions(@Req() req: GatewayRequest, @Res() reply: FastifyReply): Promise<void> {
    return this.gateway.chatCompletions(context(req, reply), req.body);
  }

  /** OpenAI `POST /v1/embeddings`. */
  @Post('embeddings')
  embeddings(@Req() req: GatewayRequest, @Res() reply: FastifyReply): Promise<void> {
    return this.gateway.embeddings(context(req, reply), req.body);
  }

  /** OpenAI `GET /v1/models`: only the models this key may call. */
  @Get('models')
  @HttpCode(200)
  models(@Req() req: GatewayRequest) {
    return this.gateway.listModels({ principal: req.principal! });
  }
}
