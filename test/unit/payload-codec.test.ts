import { randomBytes } from 'node:crypto';
import type { Payload } from '@temporalio/common';
import fc from 'fast-check';
import { ConfigError, loadTemporalConfig } from '../../src/config';
import {
  AesGcmPayloadCodec,
  ENCRYPTED_ENCODING,
  KEY_ID_METADATA,
  newPayloadKey,
  parsePayloadKeys,
  PayloadKeyError,
  type PayloadKeyRing,
} from '../../src/temporal/payload-codec';

/**
 * The payload codec on its own: what it seals can be opened only with the same key and key id, what
 * it did not seal passes through, a rotated ring still opens old payloads, and no error message
 * carries key material.
 */

const ring = (active: string, keys: Record<string, string>): PayloadKeyRing => ({
  activeKeyId: active,
  keys: new Map(Object.entries(keys).map(([id, b64]) => [id, Buffer.from(b64, 'base64')])),
});

const bytes = (text: string) => Buffer.from(text);

const payload = (metadata: Record<string, string>, data: Uint8Array): Payload => ({
  metadata: Object.fromEntries(Object.entries(metadata).map(([k, v]) => [k, bytes(v)])),
  data,
});

/** Comparable content whatever the class of the object (the codec returns protobuf messages). */
const contentOf = (p: Payload) => ({
  metadata: Object.fromEntries(
    Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? []).toString('hex')]),
  ),
  data: Buffer.from(p.data ?? []).toString('hex'),
});

const metaText = (p: Payload, key: string) => Buffer.from(p.metadata?.[key] ?? []).toString();

const STUDENT = JSON.stringify({ email: 'asha.verma@example.com', phone: '+919876543210' });
const jsonPayload = payload({ encoding: 'json/plain' }, bytes(STUDENT));

const keyA = newPayloadKey();
const keyB = newPayloadKey();

describe('AesGcmPayloadCodec', () => {
  const codec = new AesGcmPayloadCodec(ring('a', { a: keyA }));

  it('opens what it sealed: json, binary/null with empty data, and a 1 MiB payload', async () => {
    const payloads = [
      jsonPayload,
      payload({ encoding: 'binary/null' }, new Uint8Array(0)),
      payload({ encoding: 'binary/plain' }, randomBytes(1024 * 1024)),
    ];
    const opened = await codec.decode(await codec.encode(payloads));
    expect(opened.map(contentOf)).toEqual(payloads.map(contentOf));
  });

  it('seals with the encrypted encoding and the key id, and no plaintext in data', () => {
    const sealed = codec.seal(jsonPayload);
    expect(Object.keys(sealed.metadata ?? {}).sort()).toEqual(['encoding', KEY_ID_METADATA]);
    expect(metaText(sealed, 'encoding')).toBe(ENCRYPTED_ENCODING);
    expect(metaText(sealed, KEY_ID_METADATA)).toBe('a');
    const data = Buffer.from(sealed.data!);
    for (const plain of ['asha.verma@example.com', '+919876543210', 'json/plain']) {
      expect(data.includes(bytes(plain))).toBe(false);
    }
  });

  it('seals the same payload differently each time (a random nonce)', () => {
    const first = Buffer.from(codec.seal(jsonPayload).data!);
    const second = Buffer.from(codec.seal(jsonPayload).data!);
    expect(first.equals(second)).toBe(false);
    expect(first.subarray(0, 12).equals(second.subarray(0, 12))).toBe(false);
  });

  it('refuses a payload with any byte flipped: nonce, ciphertext or tag', () => {
    const sealed = codec.seal(jsonPayload);
    const data = Buffer.from(sealed.data!);
    for (let i = 0; i < data.length; i++) {
      const altered = Buffer.from(data);
      altered[i]! ^= 0x01;
      expect(() => codec.open({ metadata: sealed.metadata, data: altered })).toThrow(PayloadKeyError);
    }
  });

  it('refuses a payload relabelled with another key id of the ring (the id is authenticated)', () => {
    const both = new AesGcmPayloadCodec(ring('a', { a: keyA, b: keyB }));
    const sealed = both.seal(jsonPayload);
    const relabelled = { ...sealed, metadata: { ...sealed.metadata, [KEY_ID_METADATA]: bytes('b') } };
    expect(() => both.open(relabelled)).toThrow(/key b failed authentication/);
  });

  it('passes a payload it did not seal through unchanged', async () => {
    const [opened] = await codec.decode([jsonPayload]);
    expect(opened).toBe(jsonPayload);
    expect(contentOf(opened!)).toEqual(contentOf(payload({ encoding: 'json/plain' }, bytes(STUDENT))));
    const bare: Payload = { data: bytes('no metadata at all') };
    expect(codec.open(bare)).toBe(bare);
  });

  it('a payload round-trips whatever its metadata and data', () => {
    const property = fc.property(
      fc.dictionary(fc.string(), fc.uint8Array({ maxLength: 64 }), { maxKeys: 6 }),
      fc.uint8Array({ maxLength: 4096 }),
      (metadata, data) => {
        const original: Payload = { metadata, data };
        expect(contentOf(codec.open(codec.seal(original)))).toEqual(contentOf(original));
      },
    );
    fc.assert(property, { numRuns: 200 });
  });
});

describe('key rotation', () => {
  const OLD = 'old-2024';
  const NEW = 'new-2025';

  it('a ring with the new key active still opens what the old key sealed, and seals under the new id', () => {
    const before = new AesGcmPayloadCodec(ring(OLD, { [OLD]: keyA }));
    const after = new AesGcmPayloadCodec(ring(NEW, { [OLD]: keyA, [NEW]: keyB }));
    const sealedBefore = before.seal(jsonPayload);
    expect(contentOf(after.open(sealedBefore))).toEqual(contentOf(jsonPayload));

    const sealedAfter = after.seal(jsonPayload);
    expect(metaText(sealedAfter, KEY_ID_METADATA)).toBe(NEW);
    expect(contentOf(after.open(sealedAfter))).toEqual(contentOf(jsonPayload));
  });

  it('a ring without the old key cannot open its payloads, and says which key, never a key', () => {
    const sealed = new AesGcmPayloadCodec(ring(OLD, { [OLD]: keyA })).seal(jsonPayload);
    const newOnly = new AesGcmPayloadCodec(ring(NEW, { [NEW]: keyB }));
    let error: unknown;
    try {
      newOnly.open(sealed);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(PayloadKeyError);
    const message = (error as Error).message;
    expect(message).toContain(OLD);
    expect(message).not.toContain(NEW);
    for (const key of [keyA, keyB]) {
      expect(message).not.toContain(key);
      expect(message).not.toContain(Buffer.from(key, 'base64').toString('hex'));
    }
  });
});

describe('parsePayloadKeys', () => {
  const key = newPayloadKey();
  const other = newPayloadKey();
  const short = randomBytes(16).toString('base64');

  it('reads a ring, with one key active by default', () => {
    const one = parsePayloadKeys(`k1:${key}`, undefined);
    expect(one.activeKeyId).toBe('k1');
    expect(one.keys.get('k1')?.toString('base64')).toBe(key);
    const two = parsePayloadKeys(` k1:${key} , k.2_x-y:${other} `, 'k.2_x-y');
    expect(two.activeKeyId).toBe('k.2_x-y');
    expect([...two.keys.keys()]).toEqual(['k1', 'k.2_x-y']);
  });

  it.each([
    ['empty', '', undefined, /must hold at least one id:base64key/],
    ['a bad id', `bad id:${key}`, undefined, /the id of letters, digits, dot, dash or underscore/],
    ['no colon', key, undefined, /every entry is id:base64key/],
    ['a 16-byte key', `k1:${short}`, undefined, /key k1 must be 32 random bytes in base64/],
    ['a key not in base64', 'k1:not*base64!!', undefined, /key k1 must be 32 random bytes in base64/],
    ['an id twice', `k1:${key},k1:${other}`, 'k1', /key id k1 appears twice/],
    ['two keys, no active id', `k1:${key},k2:${other}`, undefined, /PAYLOAD_KEY_ID is required/],
    ['an active id not in the ring', `k1:${key}`, 'k9', /PAYLOAD_KEY_ID k9 is not one of PAYLOAD_KEYS/],
  ])('refuses %s with the rule, never the key', (_, spec, active, rule) => {
    expect(() => parsePayloadKeys(spec, active)).toThrow(PayloadKeyError);
    expect(() => parsePayloadKeys(spec, active)).toThrow(rule);
    try {
      parsePayloadKeys(spec, active);
    } catch (err) {
      const message = (err as Error).message;
      for (const secret of [key, other, short, 'not*base64!!']) expect(message).not.toContain(secret);
    }
  });
});

describe('configuration', () => {
  it('a malformed PAYLOAD_KEYS is a ConfigError naming the variable, not its value', () => {
    const value = `k1:${randomBytes(16).toString('base64')}`;
    let error: unknown;
    try {
      loadTemporalConfig({ TEMPORAL_ADDRESS: '127.0.0.1:7233', PAYLOAD_KEYS: value });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toContain('PAYLOAD_KEYS');
    expect(message).not.toContain(value);
    expect(message).not.toContain(value.slice(3));
  });

  it('a missing PAYLOAD_KEYS is a ConfigError naming it', () => {
    expect(() => loadTemporalConfig({ TEMPORAL_ADDRESS: '127.0.0.1:7233' })).toThrow(
      expect.objectContaining({ name: 'ConfigError', message: expect.stringContaining('PAYLOAD_KEYS') }),
    );
  });
});
