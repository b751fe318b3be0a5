// ollama_tools.mjs sends tools through the official ollama npm client
// and prints what came back as JSON: a call (whole and streamed), then the
// second turn with the call and the tool's result, and the model's
// capabilities. Usage:
//   node ollama_tools.mjs HOST MODEL
// The ollama package is looked up in $ORBIT_TEST_DEPS/node_modules.
import { createRequire } from "node:module";
import { join } from "node:path";
import { homedir } from "node:os";
import { pathToFileURL } from "node:url";

const [host, model] = process.argv.slice(2);
const deps = process.env.ORBIT_TEST_DEPS || join(homedir(), ".cache", "orbit-test-deps");
const require = createRequire(join(deps, "package.json"));
const mod = await import(pathToFileURL(require.resolve("ollama")).href);
const Ollama = mod.Ollama || (mod.default && mod.default.Ollama);

const client = new Ollama({ host });
const tools = [{
  type: "function",
  function: {
    name: "get_weather",
    description: "Weather of a city",
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
  },
}];
const messages = [{ role: "user", content: "Weather in Paris?" }];
const out = {};

const first = await client.chat({ model, messages, tools, stream: false });
out.first = { message: first.message, done_reason: first.done_reason };

let parts = 0, calls = [], content = "";
for await (const part of await client.chat({ model, messages, tools, stream: true })) {
  parts++;
  content += part.message.content;
  calls.push(...(part.message.tool_calls || []));
}
out.stream = { parts, calls, content };

const second = await client.chat({
  model, tools, stream: false,
  messages: [...messages, first.message, { role: "tool", tool_name: "get_weather", content: '{"temp": 21}' }],
});
out.second = { message: second.message, done_reason: second.done_reason };
out.show = { capabilities: (await client.show({ model })).capabilities };
console.log(JSON.stringify(out));
