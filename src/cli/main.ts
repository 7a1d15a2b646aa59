// The routeshift CLI as shipped in the controller image: the controller, validate and the operator commands.
// The developer tools (sandbox, demo) add their commands in src/sandbox/cli.ts, which the image does not carry.
import { registerOperatorCommands } from './commands/index.js';
import { buildProgram, runProgram } from './program.js';

const program = buildProgram();
registerOperatorCommands(program);
await runProgram(program, process.argv);
