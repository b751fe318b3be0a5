// openai_tools.mjs sends tools through the official openai npm client and
// prints what came back as JSON: a tool call (non-streamed and streamed),
// then the second turn with the call and the tool's result. Usage:
//   node openai_tools.mjs BASE_URL MODEL API_KEY
// The openai package is looked up in $ORBIT_TEST_DEPS/node_modules.
import { createRequire } from "node:module";
import { join } from "node:path";
import { homedir } from "node:os";
import { pathToFileURL } from "node:url";

const [baseURL, model, apiKey] = process.argv.slice(2);
const deps = process.env.ORBIT_TEST_DEPS || join(homedir(), ".cache", "orbit-test-deps");
const require = createRequire(join(deps, "package.json"));
const mod = await import(pathToFileURL(require.resolve("openai")).href);
const OpenAI = mod.OpenAI || (mod.default && mod.default.OpenAI) || mod.default;

const client = new OpenAI({ baseURL, apiKey, maxRetries: 0, timeout: 60_000 });
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

const first = await client.chat.completions.create({ model, messages, tools, tool_choice: "auto", max_tokens: 64 });
out.first = { finish_reason: first.choices[0].finish_reason, message: first.choices[0].message };

const stream = await client.chat.completions.create({ model, messages, tools, max_tokens: 64, stream: true });
const calls = [];
let finish = null;
for await (const chunk of stream) {
  for (const c of chunk.choices) {
    for (const tc of c.delta.tool_calls || []) calls[tc.index] = tc;
    if (c.finish_reason) finish = c.finish_reason;
  }
}
out.stream = { finish_reason: finish, tool_calls: calls };

const call = first.choices[0].message.tool_calls[0];
const second = await client.chat.completions.create({
  model,
  tools,
  max_tokens: 64,
  messages: [...messages, first.choices[0].message, { role: "tool", tool_call_id: call.id, content: '{"temp": 21}' }],
});
out.second = { finish_reason: second.choices[0].finish_reason, message: second.choices[0].message };

let refused = null;
try {
  await client.chat.completions.create({ model, messages, tools, tool_choice: "required", max_tokens: 8 });
} catch (e) {
  refused = { status: e.status, param: e.param };
}
out.required = refused;
console.log(JSON.stringify(out));
