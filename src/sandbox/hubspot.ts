/**
 * HubSpot CRM: the OAuth refresh-token grant and batch upsert of contacts by email. Access tokens
 * really expire (TTL configurable, clock injectable) so a client's refresh-ahead and its
 * "401 EXPIRED_AUTHENTICATION -> refresh once, retry once" path can both be exercised.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import express, { type Request } from 'express';
import { z } from 'zod';
import type { SandboxService, ServiceContext } from './context';
import { isoAt } from './context';
import {
  bearerToken,
  endpoint,
  notFound,
  reply,
  safeEqual,
  serviceErrors,
  type Reply,
  type ServiceProfile,
} from './http';
import { describeIssues } from '../domain/zod-issues';

/** Expired tokens are remembered this long, so they answer EXPIRED rather than "unknown". */
const EXPIRED_TOKEN_MEMORY_MS = 24 * 60 * 60 * 1000;
const MAX_BATCH_INPUTS = 100;

const hubspotError = (status: number, fields: Record<string, unknown>, headers?: Record<string, string>) =>
  reply(status, { status: 'error', ...fields, correlationId: randomUUID() }, headers);

const validationError = (message: string) => hubspotError(400, { message, category: 'VALIDATION_ERROR' });

/** HubSpot stores every property as a string; numbers and booleans are accepted and stringified. */
const propertyValue = z
  .union([z.string(), z.number(), z.boolean(), z.null()])
  .transform((v) => (v === null ? '' : String(v)));

const batchUpsertSchema = z.object({
  inputs: z
    .array(
      z.object({
        idProperty: z.literal('email', 'the sandbox upserts by idProperty "email" only'),
        id: z.string().min(1, 'id is required'),
        properties: z.record(z.string(), propertyValue).default({}),
      }),
    )
    .min(1, 'inputs must not be empty')
    .max(MAX_BATCH_INPUTS, `at most ${MAX_BATCH_INPUTS} inputs per batch`),
});

const isEmail = (value: string) => z.email().safeParse(value).success;

const formField = (req: Request, name: string): string | undefined => {
  const body = req.body as Record<string, unknown> | undefined;
  const value = body?.[name];
  return typeof value === 'string' ? value : undefined;
};

const profile: ServiceProfile = {
  service: 'hubspot',
  faultReply: (fault) =>
    fault.kind === 'rateLimited'
      ? hubspotError(
          429,
          {
            message: 'You have reached your ten_secondly_rolling limit.',
            errorType: 'RATE_LIMIT',
            policyName: 'TEN_SECONDLY_ROLLING',
          },
          {
            'X-HubSpot-RateLimit-Max': '190',
            'X-HubSpot-RateLimit-Remaining': '0',
            'X-HubSpot-RateLimit-Interval-Milliseconds': '10000',
            ...(fault.retryAfter !== undefined && { 'Retry-After': fault.retryAfter }),
          },
        )
      : hubspotError(503, { message: 'The service is temporarily unavailable. Please retry.' }),
  unreadableBody: (status, message) => hubspotError(status, { message, category: 'VALIDATION_ERROR' }),
  notFound: () => hubspotError(404, { message: 'Resource not found', category: 'OBJECT_NOT_FOUND' }),
};

export function createHubSpotService(ctx: ServiceContext): SandboxService {
  /** access token -> expiry (epoch ms). Every grant adds one; older ones live out their own TTL. */
  const accessTokens = new Map<string, number>();

  function issueToken(req: Request): Reply {
    if (formField(req, 'grant_type') !== 'refresh_token') {
      return reply(400, { status: 'BAD_GRANT_TYPE', message: 'grant_type must be refresh_token' });
    }
    // One status for every credential mismatch (as the sandbox contract says); the message names
    // the field, never its value. Clients should treat any 400 here as permanent.
    const { HUBSPOT_CLIENT_ID, HUBSPOT_CLIENT_SECRET, HUBSPOT_REFRESH_TOKEN } = ctx.credentials;
    const mismatch = !safeEqual(formField(req, 'client_id'), HUBSPOT_CLIENT_ID)
      ? 'missing or unknown client id'
      : !safeEqual(formField(req, 'client_secret'), HUBSPOT_CLIENT_SECRET)
        ? 'missing or invalid client secret'
        : !safeEqual(formField(req, 'refresh_token'), HUBSPOT_REFRESH_TOKEN)
          ? 'missing or invalid refresh token'
          : undefined;
    if (mismatch) return reply(400, { status: 'BAD_REFRESH_TOKEN', message: mismatch });

    const now = ctx.now();
    for (const [token, expiresAt] of accessTokens) {
      if (expiresAt + EXPIRED_TOKEN_MEMORY_MS < now) accessTokens.delete(token);
    }
    const ttlSeconds = ctx.hubspotTokenTtlSeconds();
    const accessToken = `sbx-${randomBytes(24).toString('base64url')}`;
    accessTokens.set(accessToken, now + ttlSeconds * 1000);
    ctx.ledger.recordTokenIssued();
    return reply(200, {
      access_token: accessToken,
      refresh_token: HUBSPOT_REFRESH_TOKEN,
      expires_in: ttlSeconds,
      token_type: 'bearer',
    });
  }

  function authenticate(req: Request): Reply | undefined {
    const token = bearerToken(req);
    const expiresAt = token === undefined ? undefined : accessTokens.get(token);
    if (expiresAt === undefined) {
      return hubspotError(401, {
        message:
          'Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview',
        category: 'INVALID_AUTHENTICATION',
      });
    }
    const now = ctx.now();
    if (now >= expiresAt) {
      const ago = Math.max(1, Math.floor((now - expiresAt) / 1000));
      return hubspotError(401, {
        message: `The OAuth token used to make this call expired ${ago} second(s) ago.`,
        category: 'EXPIRED_AUTHENTICATION',
      });
    }
    return undefined;
  }

  function batchUpsert(req: Request): Reply {
    const parsed = batchUpsertSchema.safeParse(req.body);
    if (!parsed.success) {
      return validationError(`Invalid input JSON: ${describeIssues(parsed.error, { whole: '(body)' })}`);
    }
    const inputs = parsed.data.inputs.map((input) => ({
      email: input.id.toLowerCase(),
      properties: input.properties,
    }));

    for (const [index, input] of inputs.entries()) {
      const propertyEmail = input.properties.email;
      if (!isEmail(input.email) || (propertyEmail !== undefined && !isEmail(propertyEmail))) {
        return validationError(
          `Property values were not valid: [{"isValid":false,"message":"Email address is invalid","error":"INVALID_EMAIL","name":"email","inputIndex":${index}}]`,
        );
      }
    }
    if (new Set(inputs.map((i) => i.email)).size !== inputs.length) {
      return validationError('Duplicate IDs found in batch input: each email may appear once per batch');
    }
    // Checked for the whole batch before writing anything: a rejected batch leaves no trace.
    for (const input of inputs) {
      const rejected = ctx.faults.rejection('hubspot', {
        email: input.email,
        phone: input.properties.phone,
      });
      if (rejected) {
        return validationError(
          `Property values were not valid: [{"isValid":false,"message":"Rejected by the sandbox (${rejected})","error":"INVALID_${rejected.toUpperCase()}","name":"${rejected}"}]`,
        );
      }
    }

    const startedAt = isoAt(ctx.now());
    const call = ctx.ledger.nextUpsertCall();
    const results = inputs.map((input) => {
      const { contact, created } = ctx.ledger.upsertContact(call, input.email, input.properties, startedAt);
      return {
        id: contact.id,
        new: created,
        properties: {
          ...contact.properties,
          hs_object_id: contact.id,
          createdate: contact.createdAt,
          lastmodifieddate: contact.updatedAt,
        },
        createdAt: contact.createdAt,
        updatedAt: contact.updatedAt,
        archived: false,
      };
    });
    return reply(200, { status: 'COMPLETE', results, startedAt, completedAt: isoAt(ctx.now()) });
  }

  const router = express.Router();
  // The token endpoint is not faultable: faults model the CRM API, and keeping the grant out of
  // the failNext count makes "the next upsert fails" mean exactly that.
  router.post(
    '/oauth/v1/token',
    express.urlencoded({ extended: false, limit: '1mb' }),
    endpoint(ctx, profile, { handle: issueToken, faultable: false }),
  );
  router.post(
    '/crm/v3/objects/contacts/batch/upsert',
    express.json({ limit: '1mb' }),
    endpoint(ctx, profile, { admit: authenticate, handle: batchUpsert }),
  );
  router.use(notFound(profile));
  router.use(serviceErrors(ctx, profile.service, profile));

  return {
    router,
    // Issued tokens survive a reset on purpose: a worker that cached one between two tests would
    // otherwise get INVALID_AUTHENTICATION, which (rightly) is not something it refreshes on.
    reset: () => undefined,
  };
}
