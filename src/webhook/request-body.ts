import type { IncomingMessage } from 'node:http';

/** The body is over the limit: declared so up front, or found so while it streamed in. */
export class BodyTooLargeError extends Error {
  override name = 'BodyTooLargeError';
}

/** The client went away (or Node's request timeout cut it off) before the body was complete. */
export class BodyAbortedError extends Error {
  override name = 'BodyAbortedError';
}

/**
 * Reads the raw request bytes, at most `limit` of them. Hand-written rather than `express.raw()`:
 * body-parser answers an oversized body only after draining all of it (a 50 MiB upload is read to
 * the end before the 413, and a chunked body that never ends is never answered). Here a declared
 * Content-Length over the limit is refused before reading a byte, and a streamed body as soon as it
 * crosses the limit; the caller answers 413 with `Connection: close`, so the rest is never read.
 */
export function readRawBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = req.headers['content-length'];
  // Node's parser has already refused a Content-Length that is not a single non-negative integer.
  if (declared !== undefined && Number(declared) > limit) {
    return Promise.reject(new BodyTooLargeError(`declared ${declared} bytes, limit ${limit}`));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    const stop = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onAbort);
      req.off('close', onAbort);
    };
    function onData(chunk: Buffer) {
      received += chunk.length;
      if (received > limit) {
        stop();
        // Stop pulling from the socket; the 413 closes the connection.
        req.pause();
        chunks.length = 0;
        reject(new BodyTooLargeError(`more than ${limit} bytes streamed`));
        return;
      }
      chunks.push(chunk);
    }
    function onEnd() {
      stop();
      resolve(Buffer.concat(chunks, received));
    }
    function onAbort() {
      stop();
      reject(new BodyAbortedError(`request ended after ${received} bytes, before its body was complete`));
    }
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('error', onAbort);
    req.once('close', onAbort);
  });
}
