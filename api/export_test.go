package api

// Templates of the internal tests, for the HTTP tests of package api_test.
const (
	MistralToolsJinja = mistralToolsJinja
	MistralV11Jinja   = mistralV11ToolsJinja
	Llama31ToolsJinja = llama31ToolsJinja
	Qwen3ToolsJinja   = qwen3ToolsJinja
	Qwen3CoderJinja   = qwen3CoderToolsJinja
	GptossToolsJinja  = gptossToolsJinja
)
