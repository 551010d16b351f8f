/**
 * The payload codec: every payload a client or worker of ours hands Temporal (workflow and activity
 * inputs and results, signals, queries, summaries and details, encoded failure messages) is sealed with
 * AES-256-GCM before it leaves the process, so the Temporal server, its database and its backups, the
 * Web UI and the `temporal` CLI see ciphertext unless an operator decodes through the codec server.
 *
 * Hand-written on Node's crypto (the cipher itself is OpenSSL's GCM; only the framing is ours) because
 * the SDK ships no encryption codec and its samples are not a published package.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { METADATA_ENCODING_KEY, type Payload, type PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';

/** The encoding Temporal's own samples and codec servers use for an encrypted payload. */
export const ENCRYPTED_ENCODING = 'binary/encrypted';
/** Which key of the ring sealed the payload, so a rotated ring still opens it. */
export const KEY_ID_METADATA = 'encryption-key-id';

const KEY_BYTES = 32;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const KEY_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** The rule for a key id, shared with the ops CLI so a new key's id is refused before it joins a ring. */
export const isValidKeyId = (id: string): boolean => KEY_ID.test(id);

export interface PayloadKeyRing {
  /** The key new payloads are sealed with. */
  activeKeyId: string;
  /** Every key that may still have to open a payload in a retained history. */
  keys: ReadonlyMap<string, Buffer>;
}

export class PayloadKeyError extends Error {
  override name = 'PayloadKeyError';
}

/**
 * `PAYLOAD_KEYS` (`id:base64,id:base64`) and `PAYLOAD_KEY_ID` into a ring. Messages name the key id and
 * the rule, never a key.
 */
export function parsePayloadKeys(spec: string, activeKeyId: string | undefined): PayloadKeyRing {
  const keys = new Map<string, Buffer>();
  for (const entry of spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const colon = entry.indexOf(':');
    const id = colon > 0 ? entry.slice(0, colon) : '';
    if (!KEY_ID.test(id)) {
      throw new PayloadKeyError(
        'PAYLOAD_KEYS: every entry is id:base64key, the id of letters, digits, dot, dash or underscore',
      );
    }
    const encoded = entry.slice(colon + 1);
    const key = Buffer.from(encoded, 'base64');
    if (key.length !== KEY_BYTES || key.toString('base64') !== encoded.replace(/\s/g, '')) {
      throw new PayloadKeyError(
        `PAYLOAD_KEYS: key ${id} must be ${KEY_BYTES} random bytes in base64 (npm run ops -- payload-keys new)`,
      );
    }
    if (keys.has(id)) throw new PayloadKeyError(`PAYLOAD_KEYS: key id ${id} appears twice`);
    keys.set(id, key);
  }
  if (keys.size === 0) throw new PayloadKeyError('PAYLOAD_KEYS must hold at least one id:base64key');
  const active = activeKeyId ?? (keys.size === 1 ? [...keys.keys()][0] : undefined);
  if (!active) {
    throw new PayloadKeyError('PAYLOAD_KEY_ID is required when PAYLOAD_KEYS holds more than one key');
  }
  if (!keys.has(active)) throw new PayloadKeyError(`PAYLOAD_KEY_ID ${active} is not one of PAYLOAD_KEYS`);
  return { activeKeyId: active, keys };
}

export function newPayloadKey(): string {
  return randomBytes(KEY_BYTES).toString('base64');
}

/** A fresh one-key ring as the environment expects it (npm run dev, tests, benchmarks). */
export function newPayloadKeyEnv(keyId = 'dev-1'): { PAYLOAD_KEYS: string; PAYLOAD_KEY_ID: string } {
  return { PAYLOAD_KEYS: `${keyId}:${newPayloadKey()}`, PAYLOAD_KEY_ID: keyId };
}

/** The additional authenticated data: a payload cannot be passed off as sealed under another key id. */
const aad = (keyId: string) => Buffer.from(`enrollflow-payload-v1:${keyId}`);

export class AesGcmPayloadCodec implements PayloadCodec {
  constructor(private readonly ring: PayloadKeyRing) {}

  // Synchronous work behind the SDK's asynchronous interface; a thrown error becomes a rejection.
  encode(payloads: Payload[]): Promise<Payload[]> {
    return new Promise((resolve) => resolve(payloads.map((payload) => this.seal(payload))));
  }

  decode(payloads: Payload[]): Promise<Payload[]> {
    return new Promise((resolve) => resolve(payloads.map((payload) => this.open(payload))));
  }

  seal(payload: Payload): Payload {
    const keyId = this.ring.activeKeyId;
    const key = this.ring.keys.get(keyId)!;
    // A fresh random 96-bit nonce per payload, never a counter: many processes (receivers, workers,
    // the ops CLI, the codec server) seal under the same key at once with no shared state to count
    // in. GCM's bound for random nonces is 2^32 messages per key, far above what one key seals
    // between rotations; a nonce repeated under one key would leak the XOR of two plaintexts and
    // allow forgeries, which is why it is never derived from the payload or the time.
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
    cipher.setAAD(aad(keyId));
    const plain = temporal.api.common.v1.Payload.encode(payload).finish();
    const sealed = Buffer.concat([nonce, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
    return {
      metadata: {
        [METADATA_ENCODING_KEY]: Buffer.from(ENCRYPTED_ENCODING),
        [KEY_ID_METADATA]: Buffer.from(keyId),
      },
      data: sealed,
    };
  }

  open(payload: Payload): Payload {
    const encoding = payload.metadata?.[METADATA_ENCODING_KEY];
    // Written before the codec existed (or by a process without it): read as it is.
    if (!encoding || Buffer.from(encoding).toString() !== ENCRYPTED_ENCODING) return payload;
    const rawId = payload.metadata?.[KEY_ID_METADATA];
    const keyId = rawId ? Buffer.from(rawId).toString() : '(none)';
    const key = this.ring.keys.get(keyId);
    if (!key) {
      throw new PayloadKeyError(
        `payload sealed under key ${keyId}, which PAYLOAD_KEYS does not hold (add it back to the ring)`,
      );
    }
    const data = Buffer.from(payload.data ?? []);
    if (data.length < NONCE_BYTES + TAG_BYTES) throw new PayloadKeyError('encrypted payload is truncated');
    const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, NONCE_BYTES), {
      authTagLength: TAG_BYTES,
    });
    decipher.setAAD(aad(keyId));
    decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
    let plain: Buffer;
    try {
      plain = Buffer.concat([
        decipher.update(data.subarray(NONCE_BYTES, data.length - TAG_BYTES)),
        decipher.final(),
      ]);
    } catch {
      throw new PayloadKeyError(
        `payload under key ${keyId} failed authentication (altered, or a different key)`,
      );
    }
    return temporal.api.common.v1.Payload.decode(plain);
  }
}
