// openai_tools.mjs sends tools through the official openai npm client and
// prints what came back as JSON: a tool call (non-streamed, and streamed
// through the client's stream helper, which accumulates the deltas and
// checks them as it does for OpenAI's), the second turn with the call and
// the tool's result, and tool_choice "none", "required" and named.
// Usage:
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
const brief = (c) => ({ finish_reason: c.choices[0].finish_reason, message: c.choices[0].message });

const first = await client.chat.completions.create({ model, messages, tools, tool_choice: "auto", max_tokens: 64 });
out.first = brief(first);

// The stream helper: argument deltas as they come, then the whole message.
const stream = client.chat.completions.stream({ model, messages, tools, max_tokens: 64 });
let argDeltas = 0, chunks = 0;
stream.on("tool_calls.function.arguments.delta", () => argDeltas++);
stream.on("chunk", () => chunks++);
const streamed = await stream.finalChatCompletion();
out.stream = { ...brief(streamed), arg_deltas: argDeltas, chunks };

const call = first.choices[0].message.tool_calls[0];
const second = await client.chat.completions.create({
  model,
  tools,
  max_tokens: 64,
  messages: [...messages, first.choices[0].message, { role: "tool", tool_call_id: call.id, content: '{"temp": 21}' }],
});
out.second = brief(second);

out.none = brief(await client.chat.completions.create({ model, messages, tools, tool_choice: "none", max_tokens: 64 }));
out.required = brief(await client.chat.completions.create({ model, messages, tools, tool_choice: "required", max_tokens: 64 }));
out.named = brief(await client.chat.completions.create({
  model, messages, tools, tool_choice: { type: "function", function: { name: "get_weather" } }, max_tokens: 64,
}));
console.log(JSON.stringify(out));
