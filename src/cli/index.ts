#!/usr/bin/env node
// The `creativeai` command: one entry point, one file per subcommand.
import { directionsCommand, directionsHelp } from './directions.js';
import { evalCommand, evalHelp } from './eval.js';
import { exportCommand, exportHelp } from './export.js';
import { invertCommand, invertHelp } from './invert.js';
import { plotCommand, plotHelp } from './plot.js';
import { prepareCommand, prepareHelp } from './prepare.js';
import { resultsCommand, resultsHelp } from './results.js';
import { sampleCommand, sampleHelp } from './sample.js';
import { serveHelp, workerHelp } from './serve-help.js';
import { trainCommand, trainHelp } from './train.js';
import { UsageError } from './usage.js';

const commands: Record<string, { run: (argv: string[]) => Promise<void>; help: string }> = {
  prepare: { run: prepareCommand, help: prepareHelp },
  train: { run: trainCommand, help: trainHelp },
  sample: { run: sampleCommand, help: sampleHelp },
  invert: { run: invertCommand, help: invertHelp },
  directions: { run: directionsCommand, help: directionsHelp },
  export: { run: exportCommand, help: exportHelp },
  plot: { run: plotCommand, help: plotHelp },
  eval: { run: evalCommand, help: evalHelp },
  results: { run: resultsCommand, help: resultsHelp },
  // Loaded on use: the server's packages are not needed (nor carried to the GPU machine) to train.
  serve: { run: async (argv) => (await import('./serve.js')).serveCommand(argv), help: serveHelp },
  worker: { run: async (argv) => (await import('./serve.js')).workerCommand(argv), help: workerHelp },
};

const help = `Usage: creativeai <command> [options]

Commands:
${Object.entries(commands)
  .map(([name, c]) => `  ${name.padEnd(10)} ${c.help.split('\n\n')[1]?.split('\n')[0] ?? ''}`)
  .join('\n')}

Run creativeai <command> --help for a command's options.`;

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h') {
    console.log(help);
    return name === undefined ? 2 : 0;
  }
  const cmd = commands[name];
  if (cmd === undefined) {
    console.error(`Unknown command '${name}'.\n\n${help}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(cmd.help);
    return 0;
  }
  try {
    await cmd.run(rest);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`creativeai ${name}: ${e.message}${e.help ? `\n\n${e.help}` : `\n\n${cmd.help}`}`);
      return 2;
    }
    // parseArgs reports unknown options as TypeErrors with a code.
    if ((e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      console.error(`creativeai ${name}: ${(e as Error).message}\n\n${cmd.help}`);
      return 2;
    }
    console.error(`creativeai ${name}: ${(e as Error).message}`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
