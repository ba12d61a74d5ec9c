#!/usr/bin/env node
// The `objectstore-server` command: see src/bin.ts.
import "../dist/bin.js"
