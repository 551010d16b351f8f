/**
 * Runs the sandbox in-process on a real socket: what tests and the dev runner use. Defaults to
 * 127.0.0.1 and a free port, so parallel test files never collide.
 */
import { createServer } from 'node:http';
import { createSandboxApp, type SandboxState } from './app';
import type { SandboxOptions } from './context';
import { listen } from '../runtime/listen';

export interface StartSandboxOptions extends SandboxOptions {
  /** Default 127.0.0.1: the control routes have no auth. */
  host?: string;
  /** Default 0 (a free port chosen by the OS). */
  port?: number;
}

export interface RunningSandbox {
  /** Base URL without a trailing slash, e.g. http://127.0.0.1:53211 (services at /lms, /whatsapp, /hubspot). */
  url: string;
  port: number;
  state: SandboxState;
  /** Stops accepting, drops idle keep-alive connections and cancels pending latency waits. */
  close(): Promise<void>;
}

export async function startSandbox(options: StartSandboxOptions): Promise<RunningSandbox> {
  const { host = '127.0.0.1', port = 0, ...sandboxOptions } = options;
  const { app, state } = createSandboxApp(sandboxOptions);
  const server = createServer(app);

  const address = await listen(server, port, host);
  const urlHost = address.address.includes(':') ? `[${address.address}]` : address.address;
  let closing: Promise<void> | undefined;

  return {
    url: `http://${urlHost}:${address.port}`,
    port: address.port,
    state,
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        state.dispose();
        server.close((err) => (err ? reject(err) : resolve()));
        // fetch keeps connections alive; without this close() would wait for their idle timeout.
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
