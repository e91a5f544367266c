/** A bad environment variable: the message is one line naming it; the CLI prints it and exits with code 2. */
export class ConfigError extends Error {}
