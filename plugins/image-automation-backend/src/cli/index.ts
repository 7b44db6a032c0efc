/**
 * Entry point of the `image-automation` command-line tool.
 *
 * Each command is a function from its arguments to an exit code; it writes to the given
 * streams only, so tests can run commands in-process.
 *
 * @packageDocumentation
 */

import { imageCommands } from './image';
import { policyCommands } from './policy';
import { setterCommands } from './setters';
import { templateCommands } from './template';
import { CliCommand, CliIO, defaultIO } from './types';

// One module per area (`src/cli/<area>.ts`), each exporting its commands by name.
const commands: Record<string, CliCommand> = { ...policyCommands, ...imageCommands, ...templateCommands, ...setterCommands };

function usage(): string {
  const names = Object.keys(commands).sort();
  return [
    'usage: image-automation <command> [options]',
    '',
    'commands:',
    ...names.map(name => `  ${name.padEnd(18)} ${commands[name].summary}`),
    '',
  ].join('\n');
}

/**
 * Runs the tool with the given arguments and returns the exit code.
 * @public
 */
export async function main(
  argv: string[],
  io: CliIO = defaultIO(),
): Promise<number> {
  for (const words of [2, 1]) {
    const name = argv.slice(0, words).join(' ');
    const command = commands[name];
    if (command && argv.length >= words) {
      return command.run(argv.slice(words), io);
    }
  }
  io.stderr.write(usage());
  return argv.length === 0 || argv[0] === '--help' ? 0 : 2;
}
