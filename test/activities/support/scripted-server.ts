/**
 * A real HTTP server on 127.0.0.1 with scripted answers: the activities under test talk real HTTP
 * (Node's fetch, sockets, timeouts) to it, nothing is mocked below the activity.
 */
import http, { type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  /** Path plus query, as received. */
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export type Handler = (req: RecordedRequest, res: ServerResponse) => void | Promise<void>;

export class ScriptedServer {
  private constructor(
    private readonly server: http.Server,
    readonly url: string,
    readonly requests: RecordedRequest[],
    private readonly routes: Map<string, Handler>,
  ) {}

  static async start(): Promise<ScriptedServer> {
    const requests: RecordedRequest[] = [];
    const routes = new Map<string, Handler>();
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const recorded: RecordedRequest = {
          method: req.method ?? '',
          url: req.url ?? '',
          headers: req.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        };
        requests.push(recorded);
        const path = recorded.url.split('?')[0] ?? '';
        const handler = routes.get(`${recorded.method} ${path}`);
        if (!handler) {
          sendJson(res, 404, { error: 'no scripted route', path });
          return;
        }
        Promise.resolve(handler(recorded, res)).catch((err: unknown) => {
          sendJson(res, 500, { error: String(err) });
        });
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    return new ScriptedServer(server, `http://127.0.0.1:${port}`, requests, routes);
  }

  /** Script `METHOD /path`. The handler sees every request to it, in order. */
  route(method: string, path: string, handler: Handler): this {
    this.routes.set(`${method} ${path}`, handler);
    return this;
  }

  /** Answers in order, the last one repeating. */
  sequence(method: string, path: string, ...handlers: Handler[]): this {
    let i = 0;
    return this.route(method, path, (req, res) => handlers[Math.min(i++, handlers.length - 1)]!(req, res));
  }

  requestsTo(path: string): RecordedRequest[] {
    return this.requests.filter((r) => r.url.split('?')[0] === path);
  }

  reset(): void {
    this.requests.length = 0;
    this.routes.clear();
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

export const reply =
  (status: number, body: unknown, headers: Record<string, string> = {}): Handler =>
  (_req, res) =>
    sendJson(res, status, body, headers);

/** Reads the request and never answers: the client's timeout fires after the request was delivered. */
export const hang: Handler = () => undefined;

/** Reads the request, then drops the connection without an answer. */
export const dropConnection: Handler = (_req, res) => {
  res.socket?.destroy();
};

/** A port on 127.0.0.1 where nothing listens (connection refused). */
export async function closedPortUrl(): Promise<string> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}
