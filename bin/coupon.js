#!/usr/bin/env node
// The build (npm ci runs `prepare`) compiles src/ to dist/; this file stays plain JS so npx can run it.
import '../dist/entry-points/cli/cli.js';
