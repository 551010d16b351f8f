import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface Reply {
  status: number;
  body: string;
}

export interface RecordingServer {
  url: string;
  requests: RecordedRequest[];
  close: () => Promise<void>;
}

/** A real HTTP server on 127.0.0.1:<random port> that records every request it receives. */
export async function startRecordingServer(
  respond: (req: RecordedRequest, all: RecordedRequest[]) => Reply | Promise<Reply> = () => ({
    status: 200,
    body: '{"received":true}',
  }),
): Promise<RecordingServer> {
  const requests: RecordedRequest[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const recorded: RecordedRequest = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      requests.push(recorded);
      void Promise.resolve(respond(recorded, requests)).then((reply) => {
        res.writeHead(reply.status, { 'content-type': 'application/json' }).end(reply.body);
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
