/**
 * One data converter for every Temporal client and worker of the project: the AES-GCM payload codec
 * over the key ring from the environment, and failure messages encoded as payloads (so sealed too).
 */
import type { DataConverter } from '@temporalio/common';
import { AesGcmPayloadCodec, type PayloadKeyRing } from './payload-codec';

/**
 * Loaded by path, as the SDK requires for the workflow sandbox. A bundle built ahead of time
 * (`bundleWorkflowCode`) must be given it too, or the workflows' own failures travel in clear.
 */
export const FAILURE_CONVERTER_PATH = require.resolve('./failure-converter');

export function dataConverter(ring: PayloadKeyRing): DataConverter {
  return { payloadCodecs: [new AesGcmPayloadCodec(ring)], failureConverterPath: FAILURE_CONVERTER_PATH };
}
