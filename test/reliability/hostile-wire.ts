/**
 * HTTP/1.1 over a raw loopback socket, for deliveries `fetch` cannot make: repeated header lines,
 * NUL bytes, contradictory framing, bodies streamed or trickled byte by byte while we watch for an
 * early answer. Every exchange is bounded in time and in bytes.
 */
import net from 'node:net';

export type HeaderLines = ReadonlyArray<readonly [name: string, value: string]>;

export interface WireResponse {
  /** 0 when no status line arrived. */
  status: number;
  headers: Record<string, string>;
  body: string;
  /** Request bytes handed to the socket before the answer (or the end) came. */
  bytesSent: number;
  ms: number;
  ended: 'response' | 'closed' | 'timeout';
}

export interface WirePlan {
  /** Written at once when connected (request line and headers, maybe a body). */
  head: string | Buffer;
  /** After `head`: a body of `total` bytes pushed as fast as the socket drains, optionally chunked. */
  stream?: { total: number; chunked: boolean };
  /** After `head`: these bytes one at a time (slow-loris). */
  trickle?: { bytes: string | Buffer; everyMs: number };
  timeoutMs?: number;
}

const CRLF = '\r\n';

/** A request's bytes; `Content-Length` is added for a body unless the headers already frame it. */
export function requestBytes(
  method: string,
  path: string,
  headers: HeaderLines,
  body?: string | Buffer,
): Buffer {
  const framed = headers.some(([n]) => /^(content-length|transfer-encoding)$/i.test(n));
  const lines = [`${method} ${path} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close'];
  for (const [name, value] of headers) lines.push(`${name}: ${value}`);
  const payload = body === undefined ? Buffer.alloc(0) : Buffer.from(body);
  if (!framed && body !== undefined) lines.push(`Content-Length: ${payload.length}`);
  return Buffer.concat([Buffer.from(lines.join(CRLF) + CRLF + CRLF, 'latin1'), payload]);
}

function parseResponse(received: Buffer): {
  response: Omit<WireResponse, 'bytesSent' | 'ms' | 'ended'>;
  complete: boolean;
} {
  const end = received.indexOf('\r\n\r\n');
  if (end < 0) {
    const status = /^HTTP\/1\.1 (\d{3})/.exec(received.toString('latin1'));
    return { response: { status: status ? Number(status[1]) : 0, headers: {}, body: '' }, complete: false };
  }
  const [statusLine = '', ...headerLines] = received.subarray(0, end).toString('latin1').split(CRLF);
  const headers: Record<string, string> = {};
  for (const line of headerLines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const body = received.subarray(end + 4);
  const length = headers['content-length'] === undefined ? undefined : Number(headers['content-length']);
  return {
    response: {
      status: Number(/^HTTP\/1\.1 (\d{3})/.exec(statusLine)?.[1] ?? 0),
      headers,
      body: body.toString('utf8'),
    },
    complete: length !== undefined && body.length >= length,
  };
}

/** Sends one request over a fresh connection and reads one response. Never rejects. */
export function exchange(port: number, plan: WirePlan): Promise<WireResponse> {
  const timeoutMs = plan.timeoutMs ?? 5_000;
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const startedAt = performance.now();
    let received = Buffer.alloc(0);
    let bytesSent = 0;
    let settled = false;
    let trickleTimer: NodeJS.Timeout | undefined;

    const settle = (ended: WireResponse['ended']) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      clearInterval(trickleTimer);
      socket.destroy();
      const { response } = parseResponse(received);
      resolve({ ...response, bytesSent, ms: Math.round(performance.now() - startedAt), ended });
    };
    const deadline = setTimeout(() => settle('timeout'), timeoutMs);

    socket.on('data', (data: Buffer) => {
      received = Buffer.concat([received, data]);
      if (parseResponse(received).complete) settle('response');
    });
    // A server that refuses a body may reset the connection while we still write; 'close' follows.
    socket.on('error', () => undefined);
    socket.on('close', () => settle('closed'));

    socket.once('connect', () => {
      const write = (bytes: Buffer | string) => {
        bytesSent += Buffer.byteLength(bytes);
        return socket.write(bytes);
      };
      if (plan.head.length > 0) write(plan.head);

      if (plan.stream) {
        const { total, chunked } = plan.stream;
        const payload = Buffer.alloc(64 * 1024, 0x20);
        const chunk = chunked
          ? Buffer.concat([Buffer.from(`${payload.length.toString(16)}\r\n`), payload, Buffer.from(CRLF)])
          : payload;
        let streamed = 0;
        const pump = () => {
          while (!settled && streamed < total) {
            streamed += payload.length;
            if (!write(chunk)) {
              socket.once('drain', pump);
              return;
            }
          }
          if (!settled && chunked) write('0\r\n\r\n');
        };
        pump();
      }

      if (plan.trickle) {
        const bytes = Buffer.from(plan.trickle.bytes);
        let next = 0;
        trickleTimer = setInterval(() => {
          if (settled || next >= bytes.length) {
            clearInterval(trickleTimer);
            return;
          }
          write(bytes.subarray(next, next + 1));
          next += 1;
        }, plan.trickle.everyMs);
      }
    });
  });
}
