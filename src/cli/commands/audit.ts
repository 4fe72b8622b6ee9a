/** `hashgate audit FILE…` — placeholder, implemented with the journal reader. */
import { ExitCode } from '../exit-codes.js';
import type { CliCommand } from '../main.js';

export const auditCommand: CliCommand = {
  name: 'audit <files..>',
  describe: 'Re-validate every share recorded in journal files and report per worker',
  builder: (y) => y,
  run: async (_args, io) => {
    io.stderr.write('hashgate audit: not implemented yet\n');
    return ExitCode.Internal;
  },
};
