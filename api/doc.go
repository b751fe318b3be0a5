// Package api is the HTTP face of an Orbit node: an OpenAI-compatible API
// (/v1/models, /v1/completions, /v1/chat/completions, with server-sent event
// streaming), the ollama API (/api/tags, /api/show, /api/generate,
// /api/chat, streaming newline-delimited JSON, errors as {"error": ...}),
// the node API (/api/v1/status, /api/v1/peers, /api/v1/models,
// /api/v1/route, /api/v1/history: the last minutes of the node's
// generations from a ring buffer of intervals, /api/v1/kv: the KV caches of
// the servers, from backends that are KVCacheReporters), Prometheus metrics
// (/metrics) and the embedded dashboard (/).
//
// The server sits on a Backend, a small token-level interface: today
// NewLocalBackend runs one or more models in this process through package
// engine; package swarmbackend implements the same interface over a swarm
// node (package node) to run a model across peers. Text (tokenization, chat
// templates, stop strings, streaming) is the server's job; the backend only
// turns prompt tokens into new tokens.
//
// # Defaults and limits
//
// The default listen address is 127.0.0.1:7717 (DefaultAddr). Listening on
// any other than a loopback address requires an API key, checked as a Bearer
// token on every API and metrics request (the dashboard's static files are
// served without it; the dashboard asks for the key once and sends it to
// POST /api/v1/session, which sets an HttpOnly, SameSite=Strict cookie that
// stands for it; a key in the URL is not accepted). Request bodies are
// capped at 1 MiB by default (413 beyond) and must arrive within 30 s by
// default (408 beyond: a client trickling its body does not hold a
// connection); POSTs must say Content-Type: application/json (415).
//
// A web page the user opens can reach a node on loopback, so: a node
// without an API key answers only requests whose Host is a loopback name
// or address (localhost, *.localhost, 127.0.0.0/8, ::1) or one of its own
// (Options.Hosts, the listener's address), 403 forbidden_host otherwise
// (DNS rebinding); and a browser request from another origin (an Origin
// header that is not the node's own) is refused with 403 cross_origin
// unless Options.CORSOrigins (--cors-origin) allows it, in which case it
// gets CORS headers and preflight (OPTIONS) answers.
//
// # OpenAI compatibility
//
// Supported request fields: model (optional when the backend serves a
// single model), prompt (a string, an array of strings, an array of token
// ids, or an array of arrays of token ids: one choice per prompt) or
// messages, max_tokens and max_completion_tokens, temperature (0 to 2,
// default 1; 0 is greedy), top_p, seed, stop (a string or up to 16
// strings, cut from the output, also across token boundaries when
// streaming), stream and stream_options.include_usage, n (1 to 64 choices
// per prompt, choice k sampled with seed+k; best_of only equal to n), and
// the llama.cpp extensions top_k, min_p and repeat_penalty;
// presence_penalty and frequency_penalty (-2 to 2) count the tokens of the
// last 64 positions, prompt included, as llama.cpp does. suffix is refused
// with a 400 that says so; user and other unknown fields are ignored.
// finish_reason is "stop" (an end-of-generation token or a stop string) or
// "length" (max_tokens or the end of the context). max_tokens defaults to
// 16 for completions (as OpenAI) and to the rest of the context for chat
// completions. Completion prompts are tokenized as plain text
// (special-token text is not parsed; a model's user-defined tokens are
// still matched, as llama.cpp does). Chat prompts are rendered with the
// model's template, whose markers are special tokens, but the messages'
// content is never parsed for special tokens (tokenizer.EncodeLiteral): a
// user who writes <|im_end|> or </s> gets that text, not a turn boundary,
// so API users cannot forge system or assistant turns. (llama.cpp's server
// parses the whole rendered prompt; a prompt with special tokens can be
// sent to /v1/completions as token ids.)
//
// # Tools and reasoning
//
// Chat takes tools (functions), tool_choice ("auto", "none": the tools are
// not shown and no calls read, "required" and a named function: the
// prompt ends with the start of a call in the template's format, which
// the model continues, its decoding constrained by the JSON mask to a
// call of a declared tool whose arguments follow its schema where the
// format allows (callFormat); an output that is still not a call is a
// 500 tool_call_failed) and parallel_tool_calls (false:
// generation ends after the first call), assistant messages' tool_calls
// and tool messages (tool_call_id), all passed to the GGUF's Jinja
// template as Hugging Face passes them, and chat_template_kwargs (extra
// template variables, such as enable_thinking). Tool calls in the output
// (Hermes/Qwen <tool_call> blocks, JSON or Qwen3-Coder's XML
// <function=NAME><parameter=P>, Mistral's [TOOL_CALLS] array or
// [TOOL_CALLS]NAME[ARGS]{...}, Llama 3.1's JSON calls, gpt-oss's harmony
// commentary to=functions.NAME) come back as tool_calls with finish_reason "tool_calls"; streamed, as OpenAI
// streams them: the call's id, type and name, then pieces of its
// arguments (toolStream, harmonyStream). Malformed calls stay content. A
// thinking template's <think> block, and harmony's analysis channel, come
// back as reasoning_content. The ollama /api/chat takes tools too and
// returns message.tool_calls (streamed whole, as ollama does) and
// message.thinking.
//
// # Log-probabilities
//
// Completions take logprobs: N (0 to 20 alternatives per token) and echo
// (the prompt is returned before the completion, with its tokens'
// log-probabilities: the first token's is null); chat takes logprobs: true
// and top_logprobs: N. This is what lm-evaluation-harness's
// local-completions needs to score prompts (echo, logprobs: 1,
// max_tokens: 0 or 1). Log-probabilities are of the model's raw logits,
// before temperature, penalties or truncation, computed as a log-softmax in
// float64 with the canonical kernels.Exp and kernels.Log, so every machine
// gives the same bits for the same logits. Tokens are given as their text,
// "bytes:\xNN" for a part of a character; text_offset counts bytes of the
// choice's text. When a stop string ends a choice, the token that
// completed it keeps its entry.
//
// # Chat templates
//
// No Jinja engine is used: the family of the GGUF's tokenizer.chat_template
// is recognised from its markers and rendered in Go (see ChatFamily):
// Llama 3 (<|start_header_id|>), ChatML/Qwen (<|im_start|>), Phi-3
// (<|user|> ... <|end|>) and Llama 2/Mistral ([INST], with <<SYS>> when the
// template has it). A model without a template, or with one not recognised,
// gets the documented fallback: one "role: content" line per message, then
// "assistant:", with "\nuser:" as an extra stop string.
//
// # Errors
//
// Errors use OpenAI's JSON shape {"error":{"message","type","param","code"}}:
// 400 malformed or invalid requests (including prompts longer than the
// context, code context_length_exceeded), 401 missing or wrong API key,
// 404 unknown model or path, 405 wrong method, 413 body too large,
// 415 a content type other than application/json, 503 with Retry-After when
// the backend's queue is full (ErrBusy), 503 with code coverage_gap when
// blocks of the model have no server in the swarm (CoverageGapError; the
// message lists them, Retry-After only while a server is joining), 500
// otherwise. The param of a decoding error is the field's JSON path as the
// client wrote it (max_tokens, stream_options.include_usage).
//
// # Model names
//
// A request names a model by its ID (the root CID on a swarm node), its
// name (general.name) or an unambiguous prefix of its ID of at least 8
// characters; a name or prefix of several models is a 400
// (ambiguous_model). A client that
// disconnects cancels its generation through the request context.
package api
