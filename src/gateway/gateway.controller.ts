import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import { Controller, Get, HttpCode, Post, Req, Res, UseGuards } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { Public } from '../auth/auth.decorators';
import { KeyPrincipal } from '../keys/key-check.service';
import { CallContext } from './call-context';
import { GatewayService } from './gateway.service';
import { GatewayRequest, VirtualKeyGuard } from './virtual-key.guard';

const APP_DID_PATTERN = /^[A-Za-z0-9:._-]{1,128}$/;

/**
 * The CallContext of an authenticated /v1 call: its principal, request id, calling application
 * (the `x-app-did` header when well-formed, else null) and the raw response the gateway writes.
 */
export function callContext(principal: KeyPrincipal, requestId: string, headers: IncomingHttpHeaders, res: ServerResponse): CallContext {
  const appDid = headers['x-app-did'];
  return {
    principal,
    requestId,
    appDid: typeof appDid === 'string' && APP_DID_PATTERN.test(appDid) ? appDid : null,
    startedAt: Date.now(),
    res,
  };
}

function context(req: GatewayRequest, reply: FastifyReply): CallContext {
  return callContext(req.principal!, String(req.id), req.headers, reply.hijack().raw);
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
