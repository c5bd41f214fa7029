/**
 * Entry point: `node src/cli/main.ts …` (npm scripts) or bin/compeer.js. All the logic is in program.ts.
 */
import { run, systemIo } from './program.ts';

process.exitCode = await run(process.argv.slice(2), systemIo());
