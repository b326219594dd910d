import { Body, Controller, Delete, HttpCode, Inject, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiHeader, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { Allow, CurrentPrincipal } from '../auth/access';
import type { Principal } from '../auth/principal';
import { ApiProblems, openApiSchema } from '../openapi/openapi';
import { ZodPipe } from '../validation/zod.pipe';
import {
  CreatedKeyResponseSchema,
  CreateKeyBodySchema,
  type CreatedKeyResponse,
  type CreateKeyBody,
} from './keys.schemas';
import { KeysService } from './keys.service';

const KeyIdParam = z.string().min(1).max(200);

@ApiTags('keys')
@ApiBearerAuth()
@Controller('api/keys')
export class KeysController {
  constructor(@Inject(KeysService) private readonly keys: KeysService) {}

  @Post()
  @HttpCode(201)
  @Allow('admin')
  @ApiOperation({ summary: 'Issue an API key (the key is in the response only)' })
  @ApiHeader({ name: 'Idempotency-Key', required: false })
  @ApiBody({ schema: openApiSchema(CreateKeyBodySchema) })
  @ApiResponse({ status: 201, schema: openApiSchema(CreatedKeyResponseSchema, 'output') })
  @ApiProblems(400, 401, 403, 409, 415, 422, 429)
  async create(
    @Body(new ZodPipe(CreateKeyBodySchema)) body: CreateKeyBody,
    @CurrentPrincipal() principal: Principal,
  ): Promise<CreatedKeyResponse> {
    const issued = await this.keys.create(body, principal);
    return {
      id: issued.id,
      key: issued.key,
      role: body.role,
      name: body.name,
      ...(body.agentId ? { agentId: body.agentId } : {}),
    };
  }

  @Delete(':id')
  @HttpCode(204)
  @Allow('admin')
  @ApiOperation({ summary: 'Revoke an API key' })
  @ApiResponse({ status: 204, description: 'Revoked' })
  @ApiProblems(401, 403, 404, 429)
  async revoke(@Param('id', new ZodPipe(KeyIdParam, { param: 'id' })) id: string): Promise<void> {
    await this.keys.revoke(id);
  }
}
