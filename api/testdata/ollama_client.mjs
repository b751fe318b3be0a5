// ollama_client.mjs drives an Orbit node with the official ollama npm
// client and prints what it got as JSON. Usage:
//   node ollama_client.mjs HOST MODEL API_KEY PROMPT NUM_PREDICT
// The ollama package is looked up in $ORBIT_TEST_DEPS/node_modules
// (scripts/install-test-deps installs it there).
import { createRequire } from "node:module";
import { join } from "node:path";
import { homedir } from "node:os";
import { pathToFileURL } from "node:url";

const [host, model, apiKey, prompt, numPredict] = process.argv.slice(2);
const deps = process.env.ORBIT_TEST_DEPS || join(homedir(), ".cache", "orbit-test-deps");
const require = createRequire(join(deps, "package.json"));
const mod = await import(pathToFileURL(require.resolve("ollama")).href);
const Ollama = mod.Ollama || (mod.default && mod.default.Ollama);

const client = new Ollama({ host, headers: { Authorization: "Bearer " + apiKey } });
const options = { temperature: 0, num_predict: Number(numPredict) };
const out = {};

out.tags = (await client.list()).models.map((m) => m.name);
const show = await client.show({ model });
out.show = { family: show.details.family, format: show.details.format, context_length: show.model_info["llama.context_length"] };

// A raw generation, whole and streamed.
const gen = await client.generate({ model, prompt, raw: true, stream: false, options });
out.generate = { text: gen.response, done: gen.done, done_reason: gen.done_reason, eval_count: gen.eval_count, prompt_eval_count: gen.prompt_eval_count };
let text = "", parts = 0, last = null;
for await (const part of await client.generate({ model, prompt, raw: true, stream: true, options })) {
  parts++;
  text += part.response;
  last = part;
}
out.generate_stream = { text, parts, done: last.done, done_reason: last.done_reason, eval_count: last.eval_count };

// A chat, whole and streamed.
const messages = [{ role: "system", content: "You are a dreamer." }, { role: "user", content: prompt }];
const chat = await client.chat({ model, messages, stream: false, options });
out.chat = { text: chat.message.content, role: chat.message.role, done: chat.done, eval_count: chat.eval_count };
text = ""; parts = 0; last = null;
for await (const part of await client.chat({ model, messages, stream: true, options })) {
  parts++;
  text += part.message.content;
  last = part;
}
out.chat_stream = { text, parts, done: last.done, eval_count: last.eval_count };

// An unknown model is an error the client throws.
try {
  await client.generate({ model: "no-such-model", prompt: "x", stream: false });
  out.unknown_model = { status: 200 };
} catch (e) {
  out.unknown_model = { status: e.status_code, error: e.error };
}
console.log(JSON.stringify(out));
