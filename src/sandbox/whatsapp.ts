/**
 * The WhatsApp Cloud API send endpoint (`POST /{version}/{phone_number_id}/messages`), template
 * messages only. Like Meta it is NOT idempotent: every accepted request is a new message with a new
 * id, so a client that sends twice shows up as two ledger rows.
 */
import { randomBytes } from 'node:crypto';
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

const parameterSchema = z
  .looseObject({ type: z.string().min(1), text: z.string().optional() })
  .refine((p) => p.type !== 'text' || (p.text !== undefined && p.text.trim().length > 0), {
    message: 'a text parameter needs a non-empty text',
  });

const sendTemplateSchema = z.object({
  messaging_product: z.literal('whatsapp', 'messaging_product must be "whatsapp"'),
  recipient_type: z.literal('individual', 'recipient_type must be "individual"').optional(),
  // Meta wants the number as digits with the country code; a leading + or spaces are our bug.
  to: z.string().regex(/^[1-9]\d{7,14}$/, 'to must be digits only, with the country code (no +, no spaces)'),
  type: z.literal('template', 'only template messages are supported (type must be "template")'),
  template: z.object({
    name: z.string().regex(/^[a-z0-9_]{1,512}$/, 'template.name is lower-case letters, digits and _'),
    language: z.object({
      code: z.string().regex(/^[a-z]{2,3}(_[A-Z]{2})?$/, 'template.language.code looks like en_US'),
    }),
    components: z
      .array(
        z.looseObject({
          type: z.string().min(1),
          parameters: z.array(parameterSchema).optional(),
        }),
      )
      .optional(),
  }),
});

type SendTemplate = z.infer<typeof sendTemplateSchema>;

const bodyTextParameters = (template: SendTemplate['template']): string[] =>
  (template.components ?? [])
    .filter((c) => c.type.toLowerCase() === 'body')
    .flatMap((c) => c.parameters ?? [])
    .flatMap((p) => (p.type === 'text' && p.text !== undefined ? [p.text] : []));

interface MetaErrorFields {
  code: number;
  message: string;
  details: string;
  subcode?: number;
}

/** Meta's Graph error envelope; clients must classify by `error.code`, not the HTTP status. */
function metaError(status: number, fields: MetaErrorFields, headers?: Record<string, string>): Reply {
  return reply(
    status,
    {
      error: {
        message: fields.message,
        type: 'OAuthException',
        code: fields.code,
        ...(fields.subcode !== undefined && { error_subcode: fields.subcode }),
        error_data: { messaging_product: 'whatsapp', details: fields.details },
        fbtrace_id: `A${randomBytes(15).toString('base64url')}`,
      },
    },
    headers,
  );
}

const invalidParameter = (details: string, status = 400) =>
  metaError(status, { code: 100, message: '(#100) Invalid parameter', details });

/** Both documented "try again" codes, alternated so a client's classifier meets each of them. */
const unavailableErrors: MetaErrorFields[] = [
  { code: 131000, message: '(#131000) Something went wrong', details: 'Something went wrong' },
  { code: 2, message: '(#2) Service temporarily unavailable', details: 'Service temporarily unavailable' },
];

export function createWhatsAppService(ctx: ServiceContext): SandboxService {
  let unavailableCount = 0;

  const profile: ServiceProfile = {
    service: 'whatsapp',
    faultReply: (fault) => {
      if (fault.kind === 'rateLimited') {
        return metaError(
          429,
          {
            code: 130429,
            message: '(#130429) Rate limit hit',
            details: 'Cloud API message throughput has been reached.',
          },
          fault.retryAfter === undefined ? undefined : { 'Retry-After': fault.retryAfter },
        );
      }
      const error = unavailableErrors[unavailableCount % unavailableErrors.length]!;
      unavailableCount += 1;
      return metaError(503, error);
    },
    unreadableBody: (status, message) => invalidParameter(message, status),
    notFound: () => invalidParameter('Unknown path: expected POST /{version}/{phone_number_id}/messages'),
  };

  function admit(req: Request): Reply | undefined {
    if (!safeEqual(bearerToken(req), ctx.credentials.WHATSAPP_ACCESS_TOKEN)) {
      return metaError(401, {
        code: 190,
        message: 'Invalid OAuth access token - Cannot parse access token',
        details: 'The access token is missing, malformed or not accepted by this sandbox',
      });
    }
    const { version, phoneNumberId } = req.params as { version: string; phoneNumberId: string };
    if (!/^v\d+\.\d+$/.test(version)) {
      return invalidParameter(`Unknown API version "${version}": expected something like v21.0`);
    }
    if (phoneNumberId !== ctx.credentials.WHATSAPP_PHONE_NUMBER_ID) {
      return metaError(400, {
        code: 100,
        subcode: 33,
        message: `Unsupported post request. Object with ID '${phoneNumberId}' does not exist, cannot be loaded due to missing permissions, or does not support this operation`,
        details: 'Unknown phone number id',
      });
    }
    return undefined;
  }

  function send(req: Request): Reply {
    const parsed = sendTemplateSchema.safeParse(req.body);
    if (!parsed.success) {
      return invalidParameter(describeIssues(parsed.error, { whole: '(body)' }));
    }
    const message = parsed.data;
    if (ctx.faults.rejection('whatsapp', { phone: message.to })) {
      return metaError(400, {
        code: 131026,
        message: '(#131026) Message Undeliverable.',
        details:
          'Unable to deliver message. Reasons can include: the recipient phone number is not a WhatsApp phone number.',
      });
    }
    const id = `wamid.${randomBytes(18).toString('base64url')}`;
    ctx.ledger.recordMessage({
      id,
      phoneNumberId: ctx.credentials.WHATSAPP_PHONE_NUMBER_ID,
      to: message.to,
      template: message.template.name,
      language: message.template.language.code,
      parameters: bodyTextParameters(message.template),
      at: isoAt(ctx.now()),
    });
    return reply(200, {
      messaging_product: 'whatsapp',
      contacts: [{ input: message.to, wa_id: message.to }],
      messages: [{ id }],
    });
  }

  const router = express.Router();
  router.post(
    '/:version/:phoneNumberId/messages',
    express.json({ limit: '1mb' }),
    endpoint(ctx, profile, { admit, handle: send }),
  );
  router.use(notFound(profile));
  router.use(serviceErrors(ctx, profile.service, profile));

  return {
    router,
    reset: () => {
      unavailableCount = 0;
    },
  };
}
