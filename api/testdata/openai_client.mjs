// openai_client.mjs drives an Orbit node with the official openai npm
// client and prints what it got as JSON. Usage:
//   node openai_client.mjs BASE_URL MODEL API_KEY PROMPT MAX_TOKENS
// The openai package is looked up in $ORBIT_TEST_DEPS/node_modules
// (scripts/install-test-deps installs it there).
import { createRequire } from "node:module";
import { join } from "node:path";
import { homedir } from "node:os";
import { pathToFileURL } from "node:url";

const [baseURL, model, apiKey, prompt, maxTokens] = process.argv.slice(2);
const deps = process.env.ORBIT_TEST_DEPS || join(homedir(), ".cache", "orbit-test-deps");
const require = createRequire(join(deps, "package.json"));
const mod = await import(pathToFileURL(require.resolve("openai")).href);
const OpenAI = mod.OpenAI || (mod.default && mod.default.OpenAI) || mod.default;

const client = new OpenAI({ baseURL, apiKey, maxRetries: 0, timeout: 60_000 });
const out = {};

// A streamed chat completion.
const stream = await client.chat.completions.create({
  model,
  messages: [{ role: "system", content: "You are a dreamer." }, { role: "user", content: prompt }],
  max_tokens: Number(maxTokens),
  temperature: 0,
  stream: true,
  stream_options: { include_usage: true },
});
let text = "", chunks = 0, finish = null, usage = null, role = null;
for await (const chunk of stream) {
  chunks++;
  if (chunk.usage) usage = chunk.usage;
  for (const c of chunk.choices) {
    if (c.delta.role) role = c.delta.role;
    text += c.delta.content || "";
    if (c.finish_reason) finish = c.finish_reason;
  }
}
out.chat_stream = { text, chunks, finish_reason: finish, usage, role };

// A non-streamed completion at temperature 0.
const comp = await client.completions.create({ model, prompt, max_tokens: Number(maxTokens), temperature: 0 });
out.completion = { text: comp.choices[0].text, finish_reason: comp.choices[0].finish_reason, usage: comp.usage };

// A non-streamed chat completion, equal to the streamed one.
const chat = await client.chat.completions.create({
  model,
  messages: [{ role: "system", content: "You are a dreamer." }, { role: "user", content: prompt }],
  max_tokens: Number(maxTokens),
  temperature: 0,
});
out.chat = { text: chat.choices[0].message.content, finish_reason: chat.choices[0].finish_reason, usage: chat.usage };

// lm-evaluation-harness's local-completions log-likelihood request: the
// prompt echoed with its tokens' log-probabilities, nothing generated.
const scored = await client.completions.create({ model, prompt, echo: true, logprobs: 1, max_tokens: 0, temperature: 0 });
out.echo = { text: scored.choices[0].text, logprobs: scored.choices[0].logprobs, usage: scored.usage };

// Chat with logprobs, top_logprobs and two choices.
const lchat = await client.chat.completions.create({
  model,
  messages: [{ role: "user", content: prompt }],
  max_tokens: 6,
  temperature: 0,
  logprobs: true,
  top_logprobs: 2,
  n: 2,
});
out.chat_logprobs = lchat.choices.map((c) => ({ index: c.index, text: c.message.content, logprobs: c.logprobs }));

// Model listing and an error the client turns into an exception.
const models = await client.models.list();
out.models = models.data.map((m) => m.id);
out.model_roots = models.data.map((m) => m.root ?? "");
out.retrieved = (await client.models.retrieve(models.data[0].id)).id;
try {
  await client.completions.create({ model: "no-such-model", prompt: "x" });
  out.unknown_model = { status: 200 };
} catch (e) {
  out.unknown_model = { status: e.status, message: e.message };
}

console.log(JSON.stringify(out));
