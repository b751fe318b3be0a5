package api

import "time"

// Response types of the OpenAI-compatible endpoints, shared with package
// client.

// Usage counts the tokens of a request.
type Usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

// Completion is the response of /v1/completions, and (with Object
// "text_completion" and FinishReason nil until the last) one streamed chunk.
type Completion struct {
	ID      string             `json:"id"`
	Object  string             `json:"object"` // "text_completion"
	Created int64              `json:"created"`
	Model   string             `json:"model"`
	Choices []CompletionChoice `json:"choices"`
	Usage   *Usage             `json:"usage,omitempty"`
	// Orbit is how the swarm ran the generation (swarm nodes only): with
	// each choice's last chunk when streamed, else summed over the choices.
	Orbit *SwarmStats `json:"orbit,omitempty"`
}

// CompletionChoice is a choice of a Completion.
type CompletionChoice struct {
	Index        int                 `json:"index"`
	Text         string              `json:"text"`
	Logprobs     *CompletionLogprobs `json:"logprobs"` // null unless asked for
	FinishReason *string             `json:"finish_reason"`
}

// CompletionLogprobs are a completion's log-probabilities (request field
// logprobs: N): per token its text, its log-probability (null for the
// first token of an echoed prompt, which nothing predicts), the N most
// likely tokens at its position with theirs, and its offset in the text.
type CompletionLogprobs struct {
	Tokens        []string             `json:"tokens"`
	TokenLogprobs []*float64           `json:"token_logprobs"`
	TopLogprobs   []map[string]float64 `json:"top_logprobs"`
	TextOffset    []int                `json:"text_offset"`
}

// ChatLogprobs are a chat completion's log-probabilities (request fields
// logprobs: true, top_logprobs: N).
type ChatLogprobs struct {
	Content []ChatTokenLogprob `json:"content"`
}

// ChatTokenLogprob is one token of ChatLogprobs.
type ChatTokenLogprob struct {
	Token       string       `json:"token"`
	Logprob     float64      `json:"logprob"`
	Bytes       []int        `json:"bytes"`
	TopLogprobs []TopLogprob `json:"top_logprobs"`
}

// TopLogprob is one of the most likely tokens at a position.
type TopLogprob struct {
	Token   string  `json:"token"`
	Logprob float64 `json:"logprob"`
	Bytes   []int   `json:"bytes"`
}

// ChatCompletion is the response of /v1/chat/completions.
type ChatCompletion struct {
	ID      string       `json:"id"`
	Object  string       `json:"object"` // "chat.completion"
	Created int64        `json:"created"`
	Model   string       `json:"model"`
	Choices []ChatChoice `json:"choices"`
	Usage   *Usage       `json:"usage,omitempty"`
}

// ChatChoice is a choice of a ChatCompletion.
type ChatChoice struct {
	Index        int             `json:"index"`
	Message      ResponseMessage `json:"message"`
	Logprobs     *ChatLogprobs   `json:"logprobs"` // null unless asked for
	FinishReason *string         `json:"finish_reason"`
}

// ResponseMessage is the assistant's message.
type ResponseMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
	// ReasoningContent is a thinking model's reasoning (its <think>
	// block), as llama.cpp's server returns it.
	ReasoningContent string `json:"reasoning_content,omitempty"`
	// ToolCalls are the calls of the request's tools found in the output
	// (finish_reason "tool_calls").
	ToolCalls []ToolCall `json:"tool_calls,omitempty"`
}

// ChatChunk is one streamed chunk of /v1/chat/completions (object
// "chat.completion.chunk"). The last chunk with include_usage has no
// choices and the usage.
type ChatChunk struct {
	ID      string            `json:"id"`
	Object  string            `json:"object"`
	Created int64             `json:"created"`
	Model   string            `json:"model"`
	Choices []ChatChunkChoice `json:"choices"`
	Usage   *Usage            `json:"usage,omitempty"`
}

// ChatChunkChoice is the choice of a ChatChunk.
type ChatChunkChoice struct {
	Index        int           `json:"index"`
	Delta        ChatDelta     `json:"delta"`
	Logprobs     *ChatLogprobs `json:"logprobs"`
	FinishReason *string       `json:"finish_reason"`
}

// ChatDelta is the new part of the assistant's message.
type ChatDelta struct {
	Role             string     `json:"role,omitempty"`
	Content          string     `json:"content,omitempty"`
	ReasoningContent string     `json:"reasoning_content,omitempty"`
	ToolCalls        []ToolCall `json:"tool_calls,omitempty"`
}

// OpenAIModel is one entry of /v1/models.
type OpenAIModel struct {
	ID      string `json:"id"`
	Object  string `json:"object"` // "model"
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
	// Root is the model's root CID on a swarm node (orbit run), whose ID
	// is the model's name when that names it alone; absent under orbit
	// serve.
	Root string `json:"root,omitempty"`
}

// ModelList is the response of /v1/models.
type ModelList struct {
	Object string        `json:"object"` // "list"
	Data   []OpenAIModel `json:"data"`
}

// ErrorBody is OpenAI's error response: {"error": {...}}.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail describes an error.
type ErrorDetail struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    *string `json:"code"`
}

// Node API response wrappers.
type (
	// PeersResponse is the body of /api/v1/peers.
	PeersResponse struct {
		Peers []PeerInfo `json:"peers"`
	}
	// ModelsResponse is the body of /api/v1/models.
	ModelsResponse struct {
		Models []ModelInfo `json:"models"`
	}
	// RouteResponse is the body of /api/v1/route.
	RouteResponse struct {
		Model string     `json:"model"`
		Hops  []RouteHop `json:"hops"`
	}
)

// Transfer is the progress of an import or fetch of a model's weights on a
// node, as /api/v1/status reports it (field "transfers": the latest
// transfer of each model, running or ended, oldest first).
type Transfer struct {
	// Kind is "import" (a GGUF file into the weight store) or "fetch"
	// (blocks from the swarm's providers).
	Kind string `json:"kind"`
	// Model is the root CID; an import learns it when it is done.
	Model string `json:"model,omitempty"`
	// File is the file an import reads.
	File string `json:"file,omitempty"`
	// Start and End are the blocks [start, end) a fetch gets; Embed and
	// Head say whether it gets the token embedding and the output head too.
	Start int  `json:"start"`
	End   int  `json:"end"`
	Embed bool `json:"embed,omitempty"`
	Head  bool `json:"head,omitempty"`
	// Phase is "importing", "fetching", "done" or "failed".
	Phase string `json:"phase"`
	// DoneBytes counts the bytes stored so far (those present before a
	// fetch started included) out of TotalBytes (0 until known).
	DoneBytes  int64 `json:"done_bytes"`
	TotalBytes int64 `json:"total_bytes"`
	// BytesPerSecond is the rate of the bytes this transfer moved.
	BytesPerSecond float64 `json:"bytes_per_second"`
	// ETASeconds is the estimated time left (0 when unknown or ended).
	ETASeconds     float64   `json:"eta_seconds"`
	ElapsedSeconds float64   `json:"elapsed_seconds"`
	StartedAt      time.Time `json:"started_at"`
	// FinishedAt is absent while the transfer runs.
	FinishedAt time.Time `json:"finished_at,omitzero"`
	// Error says why a failed transfer failed.
	Error string `json:"error,omitempty"`
}

// Running reports whether the transfer has not ended.
func (t Transfer) Running() bool { return t.Phase == "importing" || t.Phase == "fetching" }
