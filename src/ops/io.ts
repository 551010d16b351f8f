/** What a command may touch besides Temporal: injected, so tests run the CLI in-process. */
export interface OpsIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: NodeJS.ProcessEnv;
  now: () => Date;
}
