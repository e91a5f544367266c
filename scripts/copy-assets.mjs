// The build's second step: the Lua files and the live page's files (public/) are read from beside the
// compiled modules, so dist/ ships them.
import { cpSync, statSync } from 'node:fs';

cpSync('src', 'dist', { recursive: true, filter: (path) => statSync(path).isDirectory() || path.endsWith('.lua') || /[\\/]public[\\/]/.test(path) });
