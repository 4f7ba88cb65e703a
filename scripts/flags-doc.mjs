// Writes docs/flags.md from the option tables; test/flags.test.mjs fails when the checked-in file differs.
import { writeFileSync } from 'node:fs';
import { flagsMarkdown } from '../dist/cli/flags-doc.js';

writeFileSync(new URL('../docs/flags.md', import.meta.url), flagsMarkdown());
